# The provider's own NixOS settings, imported on every machine after the
# panel's values and FediPanel's module (see docs/nix.md, "Adding your own
# modules").
#
# Put here what is specific to your infrastructure and the same for every
# operator: how your VM template boots and mounts its disks, your admins' SSH
# keys, monitoring agents, the Nix binary cache, and so on. Values the panel
# writes (per machine, in the deployment JSON) win over `lib.mkDefault` here;
# use plain definitions or `lib.mkForce` for settings operators must not change.
{ lib, modulesPath, ... }:
{
  imports = [
    # Most providers run the machines as QEMU/KVM guests (Proxmox VE).
    (modulesPath + "/profiles/qemu-guest.nix")
  ];

  # nixops4-nixos calls `nixpkgs.lib.nixosSystem` without a `system`
  # argument, so the platform must come from the configuration.
  nixpkgs.hostPlatform = lib.mkDefault "x86_64-linux";

  # Adapt to your VM template, for example:
  # fileSystems."/" = { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };
  # boot.loader.grub.device = "/dev/vda";
  # users.users.root.openssh.authorizedKeys.keys = [ "ssh-ed25519 AAAA... panel" ];
  # services.openssh.enable = true;
}
