// Boots Swagger UI on the document named by this script's data-url attribute.
// validatorUrl: null keeps Swagger UI from sending the document to validator.swagger.io.
(function () {
  var url = document.currentScript.dataset.url;
  window.ui = SwaggerUIBundle({
    url: url,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
  });
})();
