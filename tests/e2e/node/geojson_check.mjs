// Validates the broker's GeoJSON with a validator nobody here wrote (npm @mapbox/geojsonhint),
// and checks that GeoJSON, JSON and NGSI-LD put the same reading at the same place ([lon, lat]).
// Prints PASS and exits 0, or lists every problem and exits 1.
//
//   DATABROKER_URL=http://127.0.0.1:PORT SENSOR=id node geojson_check.mjs
import geojsonhint from '@mapbox/geojsonhint';

const base = process.env.DATABROKER_URL;
const sensor = process.env.SENSOR;
if (!base || !sensor) {
  console.error('DATABROKER_URL and SENSOR are required');
  process.exit(2);
}
const problems = [];

async function get(path, accept) {
  const response = await fetch(base + path, { headers: accept ? { Accept: accept } : {} });
  if (response.status !== 200) {
    problems.push(`${path}: status ${response.status}`);
    return null;
  }
  return { type: response.headers.get('content-type'), body: await response.json() };
}

async function geojson(path, accept) {
  const got = await get(path, accept);
  if (!got) return null;
  if (got.type !== 'application/geo+json') problems.push(`${path}: content type ${got.type}`);
  for (const error of geojsonhint.hint(got.body)) {
    problems.push(`${path}: ${error.level ?? 'error'}: ${error.message}`);
  }
  console.log(`${path}: ${got.body.type}, ${got.body.features?.length ?? 1} feature(s) checked`);
  return got.body;
}

const streams = await geojson('/v1/streams?format=geojson');
const feed = await geojson('/v1/readings?format=geojson&limit=50');
const history = await geojson(`/v1/streams/${sensor}/readings?format=geojson`);
const latest = await geojson(`/v1/streams/${sensor}/latest`, 'application/geo+json');
const json = await get(`/v1/streams/${sensor}/latest`);
const entity = await get(`/v1/streams/${sensor}/latest?format=ngsi-ld`);

if (streams && !streams.features.some((f) => f.id === sensor)) {
  problems.push(`the stream ${sensor} is missing from the streams FeatureCollection`);
}
if (feed && feed.features.length === 0) problems.push('the feed FeatureCollection is empty');
if (history && history.features.length === 0) problems.push('the history FeatureCollection is empty');
if (latest && json && entity) {
  const { lat, lon } = json.body.location;
  const same = (coordinates, what) => {
    if (coordinates?.[0] !== lon || coordinates?.[1] !== lat) {
      problems.push(`${what} at ${JSON.stringify(coordinates)}, JSON at lat ${lat} lon ${lon}`);
    }
  };
  same(latest.geometry.coordinates, 'GeoJSON latest');
  same(entity.body.location.value.coordinates, 'NGSI-LD location');
  if (latest.properties.seq !== json.body.seq) problems.push('GeoJSON and JSON latest differ');
}

if (problems.length > 0) {
  for (const problem of problems) console.log(`FAIL ${problem}`);
  process.exit(1);
}
console.log('PASS');
