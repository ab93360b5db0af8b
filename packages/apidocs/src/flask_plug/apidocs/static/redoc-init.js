// Boots ReDoc on the document named by this script's data-url attribute.
(function () {
  var url = document.currentScript.dataset.url;
  Redoc.init(url, { hideDownloadButton: false }, document.getElementById("redoc"));
})();
