// Validates an AsyncAPI document with the AsyncAPI Initiative's parser (schema and semantic rules).
//   node tools/asyncapi/validate.mjs docs/asyncapi.yaml
// Prints {"errors": [...], "warnings": [...]} as JSON; exits 1 if there is an error.
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2];
if (!path) {
  console.error("usage: node validate.mjs <asyncapi document>");
  process.exit(2);
}
const parser = new Parser();
const { document, diagnostics } = await parser.parse(await readFile(path, "utf8"), { source: path });
const describe = (d) => ({ code: d.code, message: d.message, path: d.path.join("/") });
const errors = diagnostics.filter((d) => d.severity === 0).map(describe);
const warnings = diagnostics.filter((d) => d.severity === 1).map(describe);
console.log(JSON.stringify({ parsed: document !== undefined, errors, warnings }, null, 2));
process.exit(document === undefined || errors.length ? 1 : 0);
