// Small behaviours every page may use, kept out of the HTML so that the Content-Security-Policy can
// forbid inline scripts and event handlers:
//   <button data-print>            prints the page
//   <form data-confirm="问题？">    asks before submitting
(function () {
  'use strict';
  document.addEventListener('click', function (event) {
    var button = event.target.closest('[data-print]');
    if (button) { event.preventDefault(); window.print(); }
  });
  document.addEventListener('submit', function (event) {
    var form = event.target.closest('form[data-confirm]');
    if (form && !window.confirm(form.dataset.confirm)) { event.preventDefault(); }
  });
})();
