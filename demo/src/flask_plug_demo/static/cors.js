// The API on 127.0.0.1, same port: another origin than localhost.
const api = location.protocol + "//127.0.0.1:" + location.port;
const show = (text) => { document.getElementById("result").textContent = text; };
document.getElementById("origin").textContent = location.origin;
async function call(init) {
  try {
    const response = await fetch(api + "/api/notes", init);
    show(`${response.status}, X-Response-Time: ${response.headers.get("X-Response-Time")}\n`
         + await response.text());
  } catch (error) {
    show(`Blocked by the browser (${error.name}): see the console for the CORS reason.`);
  }
}
document.getElementById("get").onclick = () => call({});
document.getElementById("post").onclick = () => call({
  method: "POST", headers: {"Content-Type": "application/json"},
  body: JSON.stringify({title: "From " + location.origin})});
