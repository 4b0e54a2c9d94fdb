// Tell the panel the browser's time zone, for users who chose none: the times on the pages
// follow it from the next page on. Without this cookie the panel shows UTC.
(function () {
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!zone) return;
  // IANA names hold only letters, digits and "/_+-", all valid in a cookie as they are.
  var cookie = "fedipanel_tz=" + zone;
  if (document.cookie.split("; ").indexOf(cookie) === -1) {
    document.cookie = cookie + "; path=/; max-age=31536000; SameSite=Lax";
  }
})();
