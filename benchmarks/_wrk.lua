-- wrk script of the e2e benchmark: wrk -s _wrk.lua URL -- LISTFILE
--
-- LISTFILE holds one request a line, "PATH" or "PATH<TAB>ETAG" (then sent as If-None-Match).
-- Each thread cycles through the list (starting at its own offset), counts the status of
-- every response and the body bytes, and done() prints one line for the harness:
-- "WRK-RESULT {json}".

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("thread_id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local requests = {}
local count = 0
local cursor = 0
statuses = {}
body_bytes = 0

function init(args)
   local file = assert(io.open(args[1], "r"))
   for line in file:lines() do
      local path, etag = line:match("^([^\t]+)\t?(.*)$")
      if path then
         local headers = {}
         if etag ~= "" then
            headers["If-None-Match"] = etag
         end
         count = count + 1
         requests[count] = wrk.format("GET", path, headers)
      end
   end
   file:close()
   assert(count > 0, "empty request list " .. args[1])
   cursor = ((thread_id or 0) * 7919) % count
end

function request()
   cursor = cursor % count + 1
   return requests[cursor]
end

function response(status, headers, body)
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
   if body then
      body_bytes = body_bytes + #body
   end
end

function done(summary, latency, requests)
   local totals = {}
   local bytes = 0
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         totals[status] = (totals[status] or 0) + n
      end
      bytes = bytes + thread:get("body_bytes")
   end
   local parts = {}
   for status, n in pairs(totals) do
      table.insert(parts, string.format('"%s": %d', status, n))
   end
   local e = summary.errors
   io.write(string.format(
      'WRK-RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "body_bytes": %d, '
         .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
         .. '"latency_p50_us": %d, "latency_p99_us": %d, "statuses": {%s}}\n',
      summary.requests, summary.duration, summary.bytes, bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(99), table.concat(parts, ", ")))
end
