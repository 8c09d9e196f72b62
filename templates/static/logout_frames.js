// Front-channel logout: once every portal's frame has loaded (or after 5 seconds at most),
// go on to the portal that asked for the logout. Without JavaScript the citizen taps the link.
(function () {
  var link = document.getElementById("logout-continue");
  var frames = document.querySelectorAll("iframe.logout-frame");
  var waiting = frames.length;
  var done = false;
  function go() { if (!done && link) { done = true; window.location.assign(link.href); } }
  frames.forEach(function (frame) {
    frame.addEventListener("load", function () { waiting -= 1; if (waiting <= 0) { go(); } });
  });
  setTimeout(go, 5000);
})();
