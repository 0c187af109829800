// Swagger UI for /docs: the document of this service, nothing fetched from elsewhere.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/docs/openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
    deepLinking: false,
    persistAuthorization: false
  });
  var fallback = document.getElementById("operations");
  if (fallback) { fallback.hidden = true; }
});
