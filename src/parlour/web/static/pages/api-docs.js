// Starts Swagger UI on /docs. A file, not an inline script: the pages' CSP allows no inline code.
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  // No badge fetched from the public validator: /docs talks to this server only.
  validatorUrl: null,
});
