// The API in a real browser (Debian's chromium, headless, driven over the
// DevTools protocol by puppeteer-core):
//  1. GET /docs renders the API reference (Redoc over /openapi.yaml, all
//     from the API itself): the operation list is there, the console has no
//     error, no request left the API's origin; a screenshot is kept.
//  2. A page served from an allowed origin (BAOVE_CORS_ORIGINS) signs in
//     and reads a child with fetch, and reads the exposed ETag.
//  3. The same page from an origin that is not allowed is refused by the
//     browser (fetch rejects), though the API itself answered.
//
// Environment: BAOVE_API_URL, BAOVE_ALLOWED_PORT and BAOVE_OTHER_PORT (the
// two origins' ports, http://127.0.0.1:<port>), BAOVE_CHILD_ID (a child of
// demo_commune's commune), BAOVE_SCREENSHOT (where to write the PNG),
// BAOVE_CHROMIUM (default /usr/bin/chromium).
import http from 'node:http';
import process from 'node:process';
import puppeteer from 'puppeteer-core';

const api = need('BAOVE_API_URL');
const allowedPort = Number(need('BAOVE_ALLOWED_PORT'));
const otherPort = Number(need('BAOVE_OTHER_PORT'));
const childId = need('BAOVE_CHILD_ID');
const screenshot = need('BAOVE_SCREENSHOT');

function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function check(condition, what) {
  if (!condition) throw new Error(`browser: ${what}`);
  console.error(`browser: ok: ${what}`);
}

// The front-end's page: sign in, read the child, say what happened.
const page = `<!doctype html><html><head><meta charset="utf-8"><title>front-end</title></head>
<body><pre id="result">running</pre><script>
(async () => {
  const out = document.getElementById('result');
  try {
    const signIn = await fetch(${JSON.stringify(api)} + '/v1/auth/token', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'demo_commune', password: 'baove-demo' }) });
    const { access_token } = await signIn.json();
    const child = await fetch(${JSON.stringify(api)} + '/v1/children/${childId}', {
      headers: { Authorization: 'Bearer ' + access_token } });
    const body = await child.json();
    out.textContent = 'OK ' + child.status + ' ' + body.full_name + ' etag=' + child.headers.get('ETag');
  } catch (error) {
    out.textContent = 'REFUSED ' + error.name;
  }
})();
</script></body></html>`;

function serve(port) {
  const server = http.createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(page);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

async function frontEnd(browser, port) {
  const tab = await browser.newPage();
  await tab.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'load' });
  await tab.waitForFunction(() => document.getElementById('result').textContent !== 'running',
    { timeout: 30000 });
  const text = await tab.$eval('#result', (element) => element.textContent);
  await tab.close();
  return text;
}

async function docs(browser) {
  const tab = await browser.newPage();
  const errors = [];
  const foreign = [];
  tab.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  tab.on('pageerror', (error) => errors.push(String(error)));
  tab.on('requestfailed', (request) => errors.push(`${request.url()} failed`));
  tab.on('response', (response) => {
    if (response.status() >= 400) errors.push(`${response.url()} answered ${response.status()}`);
  });
  tab.on('request', (request) => {
    if (!request.url().startsWith(api) && !request.url().startsWith('data:') &&
        !request.url().startsWith('blob:')) foreign.push(request.url());
  });
  await tab.setViewport({ width: 1280, height: 1600 });
  await tab.goto(`${api}/docs`, { waitUntil: 'networkidle0', timeout: 60000 });
  // Redoc's menu lists every operation; wait for one of the last tags'.
  await tab.waitForFunction(() => document.body.innerText.includes('Sign in'), { timeout: 60000 });
  const operations = await tab.$$eval('[data-item-id^="tag/"] , li[data-item-id*="/operation/"], [id^="operation/"]',
    (nodes) => nodes.length);
  const text = await tab.evaluate(() => document.body.innerText);
  await tab.screenshot({ path: screenshot });
  await tab.close();
  check(operations > 50, `/docs lists the operations (${operations} elements)`);
  check(text.includes('Baove API') && text.includes('/v1/children/{id}'),
    '/docs shows the title and the paths');
  check(errors.length === 0, `no console errors on /docs (${errors.join(' | ')})`);
  check(foreign.length === 0, `/docs fetched nothing elsewhere (${foreign.join(' ')})`);
}

const servers = [await serve(allowedPort), await serve(otherPort)];
const browser = await puppeteer.launch({
  executablePath: process.env.BAOVE_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // --no-sandbox: tests may run as root, where Chromium's sandbox refuses to start.
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
let status = 0;
try {
  await docs(browser);
  const allowed = await frontEnd(browser, allowedPort);
  check(/^OK 200 .+ etag="[0-9]+"$/.test(allowed), `an allowed origin reads the child (${allowed})`);
  const refused = await frontEnd(browser, otherPort);
  check(refused === 'REFUSED TypeError', `another origin is refused (${refused})`);
} catch (error) {
  console.error(error.message);
  status = 1;
} finally {
  await browser.close();
  for (const server of servers) server.close();
}
process.exit(status);
