// Shows upload progress for the dataset form: big files take a while to send.
(function () {
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var bar = document.getElementById(form.dataset.progress);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var request = new XMLHttpRequest();
    request.open("POST", form.action || window.location.href);
    request.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      bar.hidden = false;
      bar.value = Math.round((e.loaded / e.total) * 100);
    });
    request.addEventListener("load", function () {
      if (request.responseURL && request.responseURL !== window.location.href) {
        window.location.assign(request.responseURL);
      } else {
        document.open();
        document.write(request.responseText);
        document.close();
      }
    });
    request.send(new FormData(form));
    form.querySelector("button[type=submit]").disabled = true;
  });
})();
