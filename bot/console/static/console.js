// The console's only script: confirm destructive forms, and show that a slow request is under way.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  var button = form.querySelector("button[type=submit]");
  if (button && form.method.toLowerCase() === "post") {
    window.setTimeout(function () { button.disabled = true; button.textContent = "Đang xử lý…"; }, 0);
  }
});
