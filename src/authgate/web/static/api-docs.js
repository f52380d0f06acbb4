// Starts Swagger UI on /admin/api/docs: a file, as the page's CSP runs scripts from 'self' only.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapi,
    domNode: root,
    deepLinking: true,
    validatorUrl: null,  // the default would send the document to a public validator
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
