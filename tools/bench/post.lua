-- wrk script: single-reading POSTs, each to its own sensor of 1,000, with the same ~200-byte
-- air-quality reading the other scenarios send. The same script drives databroker
-- (POST /v1/sensors/air_quality/{id}/readings) and the 204 ceiling (nginx answers any path).
-- The key comes from the environment (DATABROKER_BENCH_KEY).
local key = os.getenv("DATABROKER_BENCH_KEY") or ""
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.body = '{"values":{"pm25":12.3,"pm10":19.7,"no2":26.2,"o3":55.9,"temperature":11.5,'
  .. '"humidity":81.0,"battery":87,"rssi":-97},"location":{"lat":50.87959,"lon":4.70093}}'

request = function()
  n = n + 1
  return wrk.format(nil, string.format("/v1/sensors/air_quality/load-%06d/readings", n % 1000))
end
