// Deadline countdowns: <span class="countdown" data-deadline="ISO-8601" data-closed-text="已截止">.
(function () {
  var nodes = document.querySelectorAll('.countdown[data-deadline]');
  function pad(n) { return n < 10 ? '0' + n : '' + n; }
  function tick() {
    var now = Date.now();
    nodes.forEach(function (el) {
      var left = Math.floor((Date.parse(el.dataset.deadline) - now) / 1000);
      if (left <= 0) { el.textContent = el.dataset.closedText || 'closed'; return; }
      var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
      var zh = document.documentElement.lang !== 'en';
      el.textContent = zh ? d + ' 天 ' + pad(h) + ':' + pad(m) + ':' + pad(s) : d + ' d ' + pad(h) + ':' + pad(m) + ':' + pad(s);
    });
  }
  if (nodes.length) { tick(); setInterval(tick, 1000); }
})();
