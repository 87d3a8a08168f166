-- One benchmark scenario for wrk. bench/run.py writes a prelude that sets `cfg` and then runs
-- this file:
--   cfg.method, cfg.path, cfg.headers   the request
--   cfg.body                            a constant body, or
--   cfg.bodies                          a file with one body a line: each line is sent once,
--                                       thread i of cfg.threads taking lines i+1, i+1+T, ...
--   cfg.line_header, cfg.line_prefix    when set, a line of cfg.bodies is not the body but
--                                       this header's value after the prefix (a Bearer token)
--   cfg.line_headers                    when set, a line of cfg.bodies holds space-separated
--                                       values of these headers, cfg.line_prefix before the
--                                       first (a DPoP token and its proof)
--   cfg.line_path                       when true, a line of cfg.bodies is the request's path
--   cfg.rotate                          when true, the lines are taken in turn, round and round
--                                       (tokens used again), instead of each once
--   cfg.expect                          substrings every 2xx body must contain
--   cfg.statuses                        when not empty, the statuses expected instead of 2xx
--                                       (bodies unchecked): a flood's refusals
--   cfg.expect_any                      substrings of which every such body must contain one
--   cfg.status                          when set, the one status every answer must have
--                                       (then that answer's body is checked), else any 2xx
--   cfg.fallback                        a path to GET once the bodies run out (then the run
--                                       is reported as exhausted, not as a throughput)
-- Every response is checked and counted by status; done() prints one BENCH_JSON line that
-- bench/run.py reads.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  bad_status = 0
  bad_body = 0
  statuses = {}
  expected = {}
  for _, code in ipairs(cfg.statuses or {}) do
    expected[code] = true
  end
  exhausted = 0
  sample = ""
  constant = nil
  bodies = nil
  rotation = nil
  index = 1
  if cfg.bodies then
    bodies = {}
    local line_no = 0
    for line in io.lines(cfg.bodies) do
      if line ~= "" then
        if line_no % cfg.threads == id then
          table.insert(bodies, line)
        end
        line_no = line_no + 1
      end
    end
    if cfg.rotate then
      -- Every request built now, so that rotating costs the client no more than a constant.
      rotation = {}
      for i, line in ipairs(bodies) do
        rotation[i] = format_line(line)
      end
    end
  else
    constant = wrk.format(cfg.method, cfg.path, cfg.headers, cfg.body)
  end
end

function format_line(line)
  if cfg.line_path then
    return wrk.format(cfg.method, line, cfg.headers, cfg.body)
  end
  if not cfg.line_header and not cfg.line_headers then
    return wrk.format(cfg.method, cfg.path, cfg.headers, line)
  end
  local headers = {}
  for k, v in pairs(cfg.headers) do
    headers[k] = v
  end
  if cfg.line_headers then
    local i = 1
    for value in string.gmatch(line, "%S+") do
      headers[cfg.line_headers[i]] = (i == 1 and (cfg.line_prefix or "") or "") .. value
      i = i + 1
    end
  else
    headers[cfg.line_header] = (cfg.line_prefix or "") .. line
  end
  return wrk.format(cfg.method, cfg.path, headers, cfg.body)
end

function request()
  if constant then
    return constant
  end
  if rotation then
    if #rotation == 0 then
      exhausted = exhausted + 1
      return wrk.format("GET", cfg.fallback)
    end
    local req = rotation[index]
    index = index % #rotation + 1
    return req
  end
  if index > #bodies then
    exhausted = exhausted + 1
    return wrk.format("GET", cfg.fallback)
  end
  local line = bodies[index]
  index = index + 1
  return format_line(line)
end

local function remember(status, body)
  if sample == "" then
    sample = tostring(status) .. " " .. string.sub(string.gsub(body or "", "[%c\"\\]", " "), 1, 300)
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if next(expected) ~= nil then
    if not expected[status] then
      bad_status = bad_status + 1
      remember(status, body)
    end
    return
  end
  local wanted
  if cfg.status then
    wanted = status == cfg.status
  else
    wanted = status >= 200 and status <= 299
  end
  if not wanted then
    bad_status = bad_status + 1
    remember(status, body)
    return
  end
  for _, needle in ipairs(cfg.expect) do
    if not string.find(body, needle, 1, true) then
      bad_body = bad_body + 1
      remember(status, body)
      return
    end
  end
  if #cfg.expect_any > 0 then
    for _, needle in ipairs(cfg.expect_any) do
      if string.find(body, needle, 1, true) then
        return
      end
    end
    bad_body = bad_body + 1
    remember(status, body)
  end
end

function done(summary, latency, requests)
  local bs, bb, ex, first = 0, 0, 0, ""
  local counts = {}
  for _, thread in ipairs(threads) do
    bs = bs + thread:get("bad_status")
    bb = bb + thread:get("bad_body")
    ex = ex + thread:get("exhausted")
    for code, n in pairs(thread:get("statuses")) do
      counts[code] = (counts[code] or 0) + n
    end
    local s = thread:get("sample")
    if first == "" and s ~= "" then
      first = s
    end
  end
  local by_status = {}
  for code, n in pairs(counts) do
    table.insert(by_status, string.format('"%d": %d', code, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"bad_status": %d, "bad_body": %d, "exhausted": %d, "connect_errors": %d, '
      .. '"read_errors": %d, "write_errors": %d, "timeouts": %d, "statuses": {%s}, "sample": "%s"}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    bs, bb, ex, e.connect, e.read, e.write, e.timeout, table.concat(by_status, ", "), first))
end
