// Boots ReDoc on the document named by this script's data-url attribute.
// untrustedSpec: descriptions are Markdown that may carry HTML, written by whoever wrote a
// docstring or a model; ReDoc then sanitises that HTML instead of inserting it as it is
// (a <meta http-equiv="refresh"> in a docstring would otherwise navigate the page).
(function () {
  var url = document.currentScript.dataset.url;
  Redoc.init(
    url,
    { hideDownloadButton: false, untrustedSpec: true },
    document.getElementById("redoc")
  );
})();
