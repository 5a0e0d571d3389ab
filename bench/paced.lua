-- wrk script: each connection waits PACE_MS milliseconds before each request, so the load
-- stays below saturation and latency reflects the gateway rather than a full CPU.
local pace = tonumber(os.getenv("PACE_MS") or "4")

function delay()
  return pace
end
