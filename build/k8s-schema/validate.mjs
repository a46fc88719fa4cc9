// Validates Kubernetes manifests offline against the Kubernetes OpenAPI schema, with kubernetes-models' validators.
// Usage: node validate.mjs FILE... — every document of every file; prints one line per object, then "N valid, N invalid";
// exits 1 when any object is invalid or of a kind it has no validator for (a manifest it cannot check is not passed).
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const modules = {
  v1: "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "networking.k8s.io/v1": "kubernetes-models/networking.k8s.io/v1",
  "batch/v1": "kubernetes-models/batch/v1",
};

let valid = 0, invalid = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length > 0) { console.log(`${file}: not YAML: ${doc.errors[0].message}`); invalid++; continue; }
    const obj = doc.toJS();
    if (obj === null) continue;
    const name = `${file}: ${obj.apiVersion}/${obj.kind} ${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? "?"}`;
    const mod = modules[obj.apiVersion];
    const Model = mod && (await import(mod))[obj.kind];
    if (!Model) { console.log(`${name}: no validator for this kind`); invalid++; continue; }
    try {
      new Model(obj).validate();
      console.log(`${name}: valid`);
      valid++;
    } catch (e) {
      console.log(`${name}: INVALID: ${e.message}`);
      invalid++;
    }
  }
}
console.log(`${valid} valid, ${invalid} invalid`);
process.exit(invalid > 0 || valid === 0 ? 1 : 0);
