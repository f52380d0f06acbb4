-- wrk script: POST a form to an OAuth endpoint with HTTP Basic client authentication.
-- Based on shared/peers/cc.lua (same Basic encoding and RESULT line), plus request bodies that vary.
--
-- env: CLIENT_ID, CLIENT_SECRET, TOKEN_PATH (default /token), and the body, one of:
--   BODY       one fixed body (default: a client_credentials grant with SCOPE)
--   BODY_FILE  a file with one body per line, used in turn and cycled (introspection of many tokens)
--   SEQ_BODY   a body with one %d, filled with SEQ_START, SEQ_START+1, ... — each value sent once
--              (refresh tokens rotate, so each request needs a fresh one); threads take disjoint values
-- Prints one line: RESULT rps=… p50_ms=… p99_ms=… errors=… requests=…
local id = os.getenv("CLIENT_ID") or "bench"
local secret = os.getenv("CLIENT_SECRET") or "bench-secret-0123456789abcdef0123456789abcdef"
local scope = os.getenv("SCOPE") or "read"
local function b64(data)
  local b = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  return ((data:gsub('.', function(x)
    local r, byte = '', x:byte()
    for i = 8, 1, -1 do r = r .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d?%d?%d?%d?%d?', function(x)
    if (#x < 6) then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
    return b:sub(c + 1, c + 1)
  end) .. ({ '', '==', '=' })[#data % 3 + 1])
end
wrk.method = "POST"
wrk.path = os.getenv("TOKEN_PATH") or "/token"
wrk.body = os.getenv("BODY") or ("grant_type=client_credentials&scope=" .. scope)
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. b64(id .. ":" .. secret)

local counter = 0
setup = function(thread)  -- runs in the main state: give each thread its index
  thread:set("tid", counter)
  counter = counter + 1
end
init = function(args)
  bodies, next_body = nil, 1
  local file = os.getenv("BODY_FILE")
  if file then
    bodies = {}
    for line in io.lines(file) do if #line > 0 then table.insert(bodies, line) end end
    next_body = 1 + (tid or 0)
  end
  seq_body = os.getenv("SEQ_BODY")
  seq_next = tonumber(os.getenv("SEQ_START") or "0") + (tid or 0)
  seq_step = tonumber(os.getenv("SEQ_THREADS") or "1")  -- = wrk -t
end
request = function()
  if seq_body then
    local body = string.format(seq_body, seq_next)
    seq_next = seq_next + seq_step
    return wrk.format(nil, nil, nil, body)
  end
  if bodies then
    local body = bodies[(next_body - 1) % #bodies + 1]
    next_body = next_body + 1
    return wrk.format(nil, nil, nil, body)
  end
  return wrk.format()
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.status + e.connect + e.read + e.write + e.timeout, summary.requests))
end
