"""The HTTP face: the app factory, hosted pages and the admin console."""
