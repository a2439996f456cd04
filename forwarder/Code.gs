/**
 * urelay forwarder: a Google Apps Script web app that carries the urelay
 * client's POST transport to a urelay exit (docs/apps-script.md).
 *
 * Every POST body is one encrypted batch, base64 text when the client runs
 * with --text; this script never reads it, it only passes it on. The exit's
 * answer (the batch going back) is returned as the web app's text output,
 * which Google serves through a 302 redirect to
 * script.googleusercontent.com; the client follows it.
 *
 * Set EXIT_URL, then Deploy > New deployment > Web app, Execute as: Me,
 * Who has access: Anyone. Redeploy (Manage deployments > Edit > New
 * version) after every change: the /exec URL serves the deployed version.
 */

// The exit's POST path. https needs a certificate for a real domain that
// Google accepts (a self-signed one is refused); plain http:// works too.
const EXIT_URL = 'https://YOUR-VPS:8443/tunnel';

function doPost(e) {
  // An empty POST has no postData; pass it on as an empty body.
  const body = e && e.postData ? e.postData.contents : '';
  const response = UrlFetchApp.fetch(EXIT_URL, {
    method: 'post',
    contentType: 'text/plain',    // text mode: the body is base64 text
    payload: body,
    muteHttpExceptions: true,     // a 4xx/5xx body comes back instead of an exception
    followRedirects: false,       // the exit never redirects; do not chase one
    validateHttpsCertificates: true,
  });
  // Whatever the exit's status, its body goes back: the client checks
  // every batch itself, and a non-batch answer simply fails to decrypt.
  return ContentService.createTextOutput(response.getContentText());
}

// Health check: open the /exec URL in a browser.
function doGet(e) {
  return ContentService.createTextOutput('urelay forwarder ok');
}
