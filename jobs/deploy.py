"""The deploy job: quota -> machines -> buckets -> DNS -> secrets -> nixops4 -> checks -> record."""

from __future__ import annotations

import time
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from fedipanel.accounts.models import User
from fedipanel.configurations.models import ConfigurationVersion
from fedipanel.configurations.schema import Configuration
from fedipanel.configurator import DesiredState, Host, Resource, deployment_document
from fedipanel.deployments.models import Deployment
from fedipanel.deployments.progress import Progress
from fedipanel.deployments.resources import forget, record, recorded_facts
from fedipanel.extensions import db
from fedipanel.planning import Change, Plan
from fedipanel.planning.service import PlanError, plan_version
from fedipanel.providers import nixops4
from fedipanel.providers.nixops4_simulator import simulate_apply
from fedipanel.providers.systems import simulated_systems
from jobs.runner import StepFailed, run_job

SIMULATED = "[simulated]"


def run_deployment(deployment_id: int) -> None:
    """Deploy the configuration version recorded on the deployment row."""
    run_job(deployment_id, lambda progress: Deploy(deployment_id, progress).run())


class Deploy:
    """The steps of one deployment, sharing what earlier steps learnt."""

    def __init__(self, deployment_id: int, progress: Progress) -> None:
        deployment = db.session.get(Deployment, deployment_id)
        if deployment is None:
            raise StepFailed(f"deployment {deployment_id} does not exist")
        operator = db.session.get(User, deployment.operator_id)
        if operator is None:
            raise StepFailed("the operator account no longer exists")
        self.deployment = deployment
        self.operator = operator
        self.progress = progress
        self.config = current_app.config
        self.simulated = {system.key for system in simulated_systems(self.config)}
        self.hosts: dict[str, Host] = {}

    def run(self) -> None:
        self.check_simulation_allowed()
        state, plan = self.plan()
        self.check_quota()
        self.provision_machines(state, plan)
        self.create_storage(plan)
        self.create_dns(plan)
        self.deliver_secrets(state)
        self.apply(state)
        self.remove_unused(plan)
        self.check_services(state)
        self.record_configuration(plan)

    def check_simulation_allowed(self) -> None:
        missing = simulated_systems(self.config)
        if missing and not self.config["SIMULATE"]:
            names = "; ".join(f"{s.label}: configure {s.how_to_configure}" for s in missing)
            raise StepFailed(
                f"Simulators are disabled (FEDIPANEL_SIMULATE=0) and these systems are not "
                f"configured: {names}. Nothing was changed."
            )
        self.progress.mark_simulated([s.label for s in missing])
        if missing:
            labels = ", ".join(s.label for s in missing)
            self.progress.log([f"{SIMULATED} not configured by the provider, simulated: {labels}"])

    def plan(self) -> tuple[DesiredState, Plan]:
        self.progress.phase("Planning", 2)
        row = db.session.scalar(
            select(ConfigurationVersion).where(
                ConfigurationVersion.operator_id == self.operator.id,
                ConfigurationVersion.version == self.deployment.config_version,
            )
        )
        if row is None:
            raise StepFailed(f"configuration version {self.deployment.config_version} is gone")
        try:
            planned = plan_version(
                self.operator, Configuration.model_validate(row.data), row.version
            )
        except PlanError as exc:
            raise StepFailed(str(exc)) from None
        state, plan = planned.state, planned.plan
        self.deployment.plan = plan.as_json()
        db.session.commit()
        self.progress.log(
            [f"{c.action} {c.kind} {c.name}" for c in plan.changes if c.action != "keep"]
            or ["Nothing to change: re-applying the current configuration."]
        )
        return state, plan

    def check_quota(self) -> None:
        self.progress.phase("Checking quota", 5)
        self.progress.log(["No quota is set for this operator."])

    def provision_machines(self, state: DesiredState, plan: Plan) -> None:
        self.progress.phase("Provisioning machines", 10)
        known = recorded_facts(self.operator.id, "machine")
        taken = {facts.get("address") for facts in known.values()}
        for change in plan.changes:
            if change.kind != "machine" or change.action == "delete":
                continue
            facts = known.get(change.name) or {}
            if not facts.get("address"):
                facts = {"address": _next_simulated_address(taken)}
                taken.add(facts["address"])
            spec = change.spec
            if change.action != "keep":
                self._simulate(
                    f"{change.action} VM {change.name}: {spec['cores']} vCPU, "
                    f"{spec['memory_mib']} MiB memory, {spec['disk_gib']} GiB disk, "
                    f"address {facts['address']}"
                )
            record(self.operator.id, self.deployment.id, _resource(change), facts, simulated=True)
            self.hosts[change.name] = Host(host=facts["address"], user="root", host_public_key=None)
        missing = set(state.machines) - set(self.hosts)
        if missing:
            raise StepFailed(f"no address for machine(s): {', '.join(sorted(missing))}")

    def create_storage(self, plan: Plan) -> None:
        self.progress.phase("Creating buckets and keys", 25)
        for change in plan.changes:
            if change.kind in ("s3_bucket", "s3_key") and change.action in ("create", "update"):
                self._simulate(f"{change.action} {change.kind.replace('_', ' ')} {change.name}")
                record(self.operator.id, self.deployment.id, _resource(change), simulated=True)

    def create_dns(self, plan: Plan) -> None:
        self.progress.phase("Creating DNS records", 35)
        for change in plan.changes:
            if change.kind == "dns_record" and change.action in ("create", "update", "keep"):
                host = self.hosts.get(str(change.spec.get("machine")))
                address = host.host if host else "?"
                if change.action != "keep":
                    self._simulate(f"{change.spec.get('type', 'A')} {change.name} -> {address}")
                record(
                    self.operator.id,
                    self.deployment.id,
                    _resource(change),
                    {"address": address},
                    simulated=True,
                )
            elif change.kind in ("ssh_key", "mail") and change.action != "delete":
                record(self.operator.id, self.deployment.id, _resource(change), simulated=True)

    def deliver_secrets(self, state: DesiredState) -> None:
        self.progress.phase("Delivering secrets", 45)
        for name in state.machines:
            self._simulate(f"secrets copied to {name} (/var/lib/fedipanel/keys, mode 0400)")

    def apply(self, state: DesiredState) -> None:
        self.progress.phase("Running nixops4", 55)
        slug = self.operator.slug or f"operator-{self.operator.id}"
        document = deployment_document(slug, self.deployment.generation, state, self.hosts)
        lines_seen = 0

        def on_lines(lines: list[str]) -> None:
            nonlocal lines_seen
            lines_seen += len(lines)
            self.progress.log(lines)
            # nixops4 reports no percentages: creep towards 90 as lines arrive.
            self.progress.advance(55 + int(35 * lines_seen / (lines_seen + 20)))

        if "nixops4" in self.simulated:
            result = simulate_apply(
                document, on_lines, step_delay=float(self.config["SIMULATOR_STEP_DELAY"])
            )
        else:
            try:
                executable = nixops4.find_executable(self.config.get("NIXOPS4"))
            except nixops4.Nixops4Error as exc:
                raise StepFailed(str(exc)) from None
            assert executable is not None  # not simulated, so found  # noqa: S101
            result = nixops4.apply(
                executable,
                Path(self.config["FLAKE_DIR"]),
                slug,
                document,
                on_lines,
                timeout=float(self.config["NIXOPS4_TIMEOUT"]),
            )
        if not result.succeeded:
            raise StepFailed(result.error or "nixops4 failed")

    def remove_unused(self, plan: Plan) -> None:
        deletions = [c for c in plan.changes if c.action == "delete"]
        if not deletions:
            return
        self.progress.phase("Removing what is no longer used", 90)
        for change in deletions:
            self._simulate(f"delete {change.kind.replace('_', ' ')} {change.name}")
            forget(self.operator.id, change.kind, change.name)

    def check_services(self, state: DesiredState) -> None:
        self.progress.phase("Checking services", 94)
        for machine in state.machines.values():
            self._simulate(f"https://{machine.fqdn}/ answers")

    def record_configuration(self, plan: Plan) -> None:
        self.progress.phase("Recording resources", 98)
        for change in plan.changes:
            if change.kind == "nixos" and change.action != "delete":
                record(self.operator.id, self.deployment.id, _resource(change), simulated=False)

    def _simulate(self, line: str) -> None:
        self.progress.log([f"{SIMULATED} {line}"])
        delay = float(self.config["SIMULATOR_STEP_DELAY"])
        if delay > 0:
            time.sleep(delay / 2)


def _resource(change: Change) -> Resource:
    return Resource(kind=change.kind, name=change.name, spec=change.spec)


def _next_simulated_address(taken: set[str | None]) -> str:
    """Pick a documentation-range address (RFC 5737) for a simulated machine."""
    for last in range(10, 250):
        address = f"192.0.2.{last}"
        if address not in taken:
            return address
    raise StepFailed("no free simulated address left")
