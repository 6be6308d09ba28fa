// 打印: buttons and links marked data-print open the browser's print dialog (no inline scripts under the CSP).
document.querySelectorAll('[data-print]').forEach(function (el) {
  el.addEventListener('click', function (event) {
    event.preventDefault();
    window.print();
  });
});
