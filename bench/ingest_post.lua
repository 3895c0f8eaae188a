-- wrk script of bench/ingest.py: POST an Alertmanager webhook whose group and fingerprint differ on
-- every request (so JetStream's dedup never short-circuits a publish), then print one JSON line.
-- Usage: wrk -t1 -c32 -d10s -s bench/ingest_post.lua URL -- RUN_PREFIX

local template = [[{"receiver":"aegis","status":"firing","alerts":[{"status":"firing",]]
  .. [["labels":{"alertname":"PaymentHighErrorRate","severity":"critical","service":"svc-%s",]]
  .. [["namespace":"shop","pod":"payment-7d9c-%s"},"annotations":{"summary":"payment 5xx ratio above 5%%",]]
  .. [["description":"errors / requests > 0.05 for 5 minutes"},"startsAt":"2026-11-24T09:52:10.123Z",]]
  .. [["endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph?g0.expr=rate",]]
  .. [["fingerprint":"%s"}],"groupLabels":{"alertname":"PaymentHighErrorRate","service":"svc-%s"},]]
  .. [["commonLabels":{"alertname":"PaymentHighErrorRate","severity":"critical","namespace":"shop"},]]
  .. [["commonAnnotations":{"summary":"payment 5xx ratio above 5%%"},"externalURL":"http://alertmanager:9093",]]
  .. [["version":"4","groupKey":"{}:{alertname=\"PaymentHighErrorRate\",service=\"svc-%s\"}","truncatedAlerts":0}]]

local threads = {}
local counter = 0
local prefix = "run"

function setup(thread)
  thread:set("thread_number", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  prefix = args[1] or prefix
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer bench-webhook-token"  -- bench.http_load.BENCH_TOKEN
end

function request()
  counter = counter + 1
  local id = string.format("%s-%d-%d", prefix, thread_number, counter)
  return wrk.format(nil, nil, nil, string.format(template, id, id, id, id, id))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
