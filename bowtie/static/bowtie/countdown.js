// Live countdowns for every <time class="countdown" datetime="...">.
//
// Under an hour: "4:59 left"; under a day: "3:05:09 left"; longer: "13 d 23 h
// left". Past the deadline the same span reads "overdue". The server renders
// the due time as text, which stays if scripts are off.
(function () {
  var SOON_SECONDS = 60;

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function format(seconds) {
    seconds = Math.floor(Math.abs(seconds));
    var d = Math.floor(seconds / 86400);
    var h = Math.floor((seconds % 86400) / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    if (d) return d + " d" + (h ? " " + h + " h" : "");
    if (h) return h + ":" + pad(m) + ":" + pad(s);
    return m + ":" + pad(s);
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown").forEach(function (element) {
      var due = Date.parse(element.getAttribute("datetime"));
      // The server's text names the due time in the viewer's Bowtie zone,
      // which the browser's own zone may not be: keep it as the tooltip.
      if (!element.title) {
        element.title = element.textContent.replace(/^due/, "Due");
      }
      var left = (due - now) / 1000;
      // Round towards the deadline, so "0:00 left" is never shown while late.
      var shown = left >= 0 ? Math.ceil(left) : Math.floor(-left);
      element.textContent = format(shown) + (left >= 0 ? " left" : " overdue");
      element.classList.toggle("overdue", left < 0);
      element.classList.toggle("soon", left >= 0 && left <= SOON_SECONDS);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
  });
})();
