// Small form behaviours, without inline handlers (the CSP forbids them):
// - <form data-confirm="…"> asks before submitting (e.g. deleting a draft);
// - <div data-show-for-mode="horse_race"> is shown only while the form's mode select has that value
//   (the 赛马团队数 field); without JavaScript it stays visible.
(function () {
  'use strict';

  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });

  document.querySelectorAll('[data-show-for-mode]').forEach(function (box) {
    var form = box.closest('form');
    var mode = form && form.querySelector('select[name="mode"]');
    if (!mode) { return; }
    function sync() {
      var shown = mode.value === box.dataset.showForMode;
      box.hidden = !shown;
      box.querySelectorAll('input, select').forEach(function (input) { input.disabled = !shown; });
    }
    mode.addEventListener('change', sync);
    sync();
  });
})();
