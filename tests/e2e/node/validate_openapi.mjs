// Fetches the broker's /v1/openapi.json and validates it with @apidevtools/swagger-parser: the
// OpenAPI 3.0 schema, every $ref resolving, path parameters declared, operationIds unique.
// Prints PASS and exits 0, or prints every problem and exits 1.
import SwaggerParser from "@apidevtools/swagger-parser";

const base = process.env.DATABROKER_URL;
if (!base) {
  console.error("DATABROKER_URL is not set");
  process.exit(2);
}

const response = await fetch(`${base}/v1/openapi.json`);
if (response.status !== 200) {
  console.error(`GET /v1/openapi.json answered ${response.status}`);
  process.exit(1);
}
const document = await response.json();
try {
  // validate() dereferences in place; keep the original for the counts below.
  const api = await SwaggerParser.validate(structuredClone(document));
  const operations = Object.values(api.paths).flatMap((item) =>
    Object.keys(item).filter((m) => ["get", "put", "post", "delete", "patch"].includes(m)));
  const ids = Object.values(document.paths).flatMap((item) =>
    Object.values(item).map((op) => op.operationId).filter(Boolean));
  if (new Set(ids).size !== ids.length) throw new Error("operationIds are not unique");
  if (ids.length !== operations.length) throw new Error("an operation has no operationId");
  console.log(`${api.info.title} ${api.info.version}: OpenAPI ${api.openapi}, ` +
              `${Object.keys(api.paths).length} paths, ${operations.length} operations`);
  console.log("PASS");
} catch (error) {
  console.error(`the OpenAPI document is invalid: ${error.message}`);
  if (error.details) console.error(JSON.stringify(error.details, null, 2));
  process.exit(1);
}
