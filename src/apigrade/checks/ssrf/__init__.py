"""Server-side request forgery (API7): URL parameters the server fetches."""
