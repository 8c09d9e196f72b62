// OAuth 2.0 Form Post Response Mode: send the response to the portal at once. Without
// JavaScript the citizen presses the button instead.
document.getElementById("form-post").submit();
