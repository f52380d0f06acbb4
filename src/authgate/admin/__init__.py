"""Administration over HTTP: the admin REST API (`/admin/api`) and the web console (`/admin`)."""
