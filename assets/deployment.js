// The nonce lookup of /deployment. The nonce never leaves this page: it is
// hashed here, and only the first digits of the hash are sent, as the
// prefix that GET /v1/deployments/{prefix}/entries asks by.
"use strict";

// What the log hashes (SPEC section 2): this prefix, then the nonce lowercased.
const DEPLOYMENT_PREFIX = "lucent/deployment/v1:";
// A version-4 UUID in hyphenated form, as reports require.
const NONCE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function deploymentHash(nonce) {
  const bytes = new TextEncoder().encode(DEPLOYMENT_PREFIX + nonce);
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

// Every published entry whose deployment starts with `prefix`, page by page.
async function entriesByPrefix(prefix) {
  const entries = [];
  let after = null;
  do {
    const query = new URLSearchParams({ limit: "1000" });
    if (after !== null) query.set("after", String(after));
    const response = await fetch(`v1/deployments/${prefix}/entries?${query}`, {
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const page = await response.json();
    entries.push(...page.entries);
    after = page.next_after ?? null;
  } while (after !== null);
  return entries;
}

function element(name, text, className) {
  const node = document.createElement(name);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function show(result, ...nodes) {
  result.replaceChildren(...nodes);
}

const COLUMNS = [
  ["day", "Day"],
  ["version", "Version"],
  ["tokens_created", "Tokens created"],
  ["tokens_detokenized", "Tokens detokenized"],
  ["grants_issued", "Grants issued"],
];

function entriesTable(mine) {
  const table = element("table", undefined, "numbers stack");
  table.id = "deployment-entries";
  table.append(element("caption", "Your deployment's published entries"));
  const head = element("tr");
  for (const heading of ["Entry", ...COLUMNS.map(([, label]) => label)]) {
    const th = element("th", heading);
    th.scope = "col";
    head.append(th);
  }
  table.createTHead().append(head);
  const body = table.createTBody();
  for (const { index, record } of mine) {
    const row = body.insertRow();
    row.dataset.index = String(index);
    const th = element("th", String(index));
    th.scope = "row";
    th.dataset.label = "Entry";
    row.append(th);
    for (const [field, label] of COLUMNS) {
      const cell = row.insertCell();
      cell.dataset.label = label;
      cell.textContent = String(record[field]);
    }
  }
  return table;
}

function rawEntries(mine) {
  const details = element("details");
  details.append(element("summary", "The entries exactly as stored"));
  const list = element("ul", undefined, "entries");
  for (const { index, entry } of mine) {
    const item = element("li");
    item.append(element("p", `Entry ${index}`));
    const pre = element("pre");
    pre.append(element("code", entry));
    item.append(pre);
    list.append(item);
  }
  details.append(list);
  return details;
}

async function lookUp(form, input, result) {
  const nonce = input.value.trim().toLowerCase();
  if (!NONCE.test(nonce)) {
    show(result, element("p", "This is not a nonce: a nonce is a version-4 UUID such as 2873e12f-8ade-4977-93c5-57d19dc95a68.", "warning"));
    return;
  }
  if (!window.crypto || !crypto.subtle) {
    show(result, element("p", "This browser hashes only on pages served over HTTPS: use the steps below instead.", "warning"));
    return;
  }
  show(result, element("p", "Looking up…"));
  const hash = await deploymentHash(nonce);
  const prefix = hash.slice(0, Number(form.dataset.prefixLength));
  const shared = await entriesByPrefix(prefix);
  const mine = shared
    .map((e) => ({ index: e.index, entry: e.entry, record: JSON.parse(e.entry) }))
    .filter((e) => e.record.deployment === hash);
  const summary = element("p");
  summary.append("Your deployment hash is ", element("code", hash, "hash"), ".");
  const counts = element(
    "p",
    `The server sent ${shared.length} published ${shared.length === 1 ? "entry" : "entries"} whose deployment starts with ${prefix}; ${mine.length} ${mine.length === 1 ? "is" : "are"} yours.`,
  );
  counts.id = "deployment-count";
  if (mine.length === 0) {
    show(result, summary, counts, element("p", "Reports are published when their day ends: a report sent today appears tomorrow."));
    return;
  }
  const scroll = element("div", undefined, "scroll");
  scroll.append(entriesTable(mine));
  show(result, summary, counts, scroll, rawEntries(mine));
}

document.addEventListener("DOMContentLoaded", () => {
  const section = document.getElementById("nonce-lookup");
  const form = document.getElementById("nonce-form");
  const input = document.getElementById("nonce");
  const result = document.getElementById("result");
  section.hidden = false;
  form.addEventListener("submit", (event) => {
    // Never submitted: the nonce is read here, and the input has no name.
    event.preventDefault();
    lookUp(form, input, result).catch((error) => {
      show(result, element("p", `The lookup failed: ${error.message}.`, "warning"));
    });
  });
});
