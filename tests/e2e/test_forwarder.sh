#!/usr/bin/env bash
# `urelay forwarder`, the Apps Script stand-in, alone on loopback: a tiny
# python exit answers POSTs with the body reversed (200 on /tunnel, 404
# elsewhere) and logs what it saw; curl plays the client: POST, follow the
# 302, GET the echo once. Then every injected fault, latency, the loopback
# rule and the summary line on SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"

C=(curl -sS --noproxy '*' --max-time 20)

cat >"$TMP/exit.py" <<'PY'
import http.server, sys
log = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        head = body[:40].decode("latin1").replace("\n", " ").replace("\r", " ").replace("\t", " ")
        with open(log, "a") as f:
            f.write("%s\t%d\t%s\t%s\t%d\t%s\n" % (self.path, n, self.headers.get("Content-Type"),
                    self.headers.get("Host"), self.client_address[1], head))
        out = body[::-1]
        self.send_response(200 if self.path == "/tunnel" else 404)
        self.send_header("Content-Type", "application/x-reversed")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
: >"$TMP/exit.log"
python3 "$TMP/exit.py" "$TMP/exit.log" >"$TMP/exit.port" 2>"$TMP/exit.err" &
PIDS+=($!)
wait_line "$TMP/exit.port" '^[0-9]+$' 10
EP=$(head -n1 "$TMP/exit.port")
EXIT_URL="http://127.0.0.1:$EP/tunnel"

# start_fwd NAME ARGS...: sets FP (port) and FPID; output in $TMP/NAME.out/.err
start_fwd() {
  local name=$1; shift
  FP=$(free_port)
  "$URELAY" forwarder --listen "127.0.0.1:$FP" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  FPID=$!
  PIDS+=($FPID)
  wait_line "$TMP/$name.out" '^urelay forwarder: ready' 10
}
# stop_fwd PID NAME: SIGTERM, bounded wait, exit code 0, summary line in $TMP/NAME.err
stop_fwd() {
  local i
  kill -TERM "$1"
  for ((i = 0; i < 100; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$1" 2>/dev/null && fail "$2 still running 5 s after SIGTERM"
  wait "$1" || fail "$2 exited $? after SIGTERM"
}
# summary NAME REGEX: the one summary line matches exactly
summary() {
  local line
  line=$(grep '^urelay forwarder: [0-9]* posts' "$TMP/$1.err") || { cat "$TMP/$1.err" >&2; fail "$1: no summary"; }
  [[ "$line" =~ $2 ]] || fail "$1: summary '$line' does not match /$2/"
  echo "$1: $line"
}
exit_lines() { wc -l <"$TMP/exit.log" | tr -d ' '; }
# post PORT FILE: POST the file; status in $ST, headers in $TMP/h, body in $TMP/b
post() {
  ST=$("${C[@]}" -o "$TMP/b" -D "$TMP/h" -w '%{http_code}' -H 'Content-Type: text/plain' \
    --data-binary @"$2" "http://127.0.0.1:$1/macros/s/ID/exec")
}
hdr() { tr -d '\r' <"$TMP/h" | sed -n "s/^$1: //Ip" | head -n1; }
rev() { python3 -c 'import sys; sys.stdout.buffer.write(open(sys.argv[1],"rb").read()[::-1])' "$1"; }

echo "== refusals"
expect_rc 78 "$URELAY" forwarder --listen 10.1.2.3:8080 --exit "$EXIT_URL"
expect_out 'not a loopback address.*--allow-remote'
expect_rc 78 "$URELAY" forwarder --listen "127.0.0.1:$(free_port)" --exit http://192.0.2.1:80/tunnel
expect_out 'not on loopback'
expect_rc 64 "$URELAY" forwarder --listen "127.0.0.1:$(free_port)" --exit https://127.0.0.1:1/tunnel
expect_out 'only http://'
expect_rc 64 "$URELAY" forwarder --listen "127.0.0.1:$(free_port)" --exit http://exit.example:80/tunnel
expect_out 'IP literal'
expect_rc 64 "$URELAY" forwarder --listen "127.0.0.1:$(free_port)"
expect_out 'required'
expect_rc 64 "$URELAY" forwarder --listen "127.0.0.1:$(free_port)" --exit "$EXIT_URL" --fail-every x
expect_rc 0 "$URELAY" forwarder --help
expect_out '--truncate-every'

echo "== plain forwarding"
start_fwd plain --exit "$EXIT_URL"
grep -qx "urelay forwarder: ready on 127.0.0.1:$FP -> $EXIT_URL" "$TMP/plain.out" ||
  fail "ready line: $(cat "$TMP/plain.out")"
PLAIN=$FPID PLAIN_PORT=$FP
head -c 102400 /dev/urandom >"$TMP/body"
rev "$TMP/body" >"$TMP/want"
post "$FP" "$TMP/body"
[ "$ST" = 302 ] || fail "POST: status $ST"
LOC=$(hdr Location)
[[ "$LOC" =~ ^http://127\.0\.0\.1:$FP/echo\?k=[0-9a-f]{32}$ ]] || fail "Location '$LOC'"
[ "$(hdr Content-Length)" = 0 ] || fail "302 Content-Length $(hdr Content-Length)"
tail -n1 "$TMP/exit.log" | grep -q "^/tunnel	102400	text/plain	127.0.0.1:$EP	" ||
  fail "exit saw: $(tail -n1 "$TMP/exit.log")"
ST=$("${C[@]}" -o "$TMP/got" -D "$TMP/h" -w '%{http_code}' "$LOC")
[ "$ST" = 200 ] || fail "echo: status $ST"
cmp "$TMP/got" "$TMP/want" || fail "echo body differs from the exit's answer"
[ "$(hdr Content-Type)" = application/x-reversed ] || fail "echo Content-Type '$(hdr Content-Type)'"
echo "POST 100 KiB -> 302 $LOC -> 200, byte-exact"
ST=$("${C[@]}" -o /dev/null -w '%{http_code}' "$LOC")
[ "$ST" = 404 ] || fail "second GET of a token: status $ST"
ST=$("${C[@]}" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$FP/echo?k=00112233445566778899aabbccddeeff")
[ "$ST" = 404 ] || fail "unknown token: status $ST"
echo "token is one-use; unknown token 404"

# curl -L does what the client does: POST, then GET the Location.
"${C[@]}" -L -o "$TMP/got" --data-binary @"$TMP/body" "http://127.0.0.1:$FP/exec"
cmp "$TMP/got" "$TMP/want" || fail "curl -L: body differs"
# Several POSTs ride one keep-alive connection to the exit.
before=$(exit_lines)
for i in 1 2 3; do
  printf 'keepalive-%s' "$i" >"$TMP/small"
  post "$FP" "$TMP/small"
  [ "$ST" = 302 ] || fail "POST $i: status $ST"
done
ports=$(tail -n +$((before + 1)) "$TMP/exit.log" | cut -f5 | sort -u | wc -l)
[ "$ports" = 1 ] || fail "3 POSTs used $ports connections to the exit"
echo "curl -L byte-exact; 3 POSTs on 1 exit connection"

[ "$("${C[@]}" "http://127.0.0.1:$FP/")" = "urelay forwarder ok" ] || fail "health text"
[ "$("${C[@]}" -w '%{num_connects}' -o /dev/null "http://127.0.0.1:$FP/" -o /dev/null \
  "http://127.0.0.1:$FP/x")" = 10 ] || fail "two GETs did not share one client connection"
ST=$("${C[@]}" -o /dev/null -w '%{http_code}' -X PUT "http://127.0.0.1:$FP/")
[ "$ST" = 405 ] || fail "PUT: status $ST"
# Pipelined: three requests in one write are answered in order.
python3 - "$FP" <<'PY' || fail "pipelined requests"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
body = b"pipelined-body"
s.sendall(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
          b"POST /exec HTTP/1.1\r\nHost: fwd.test:1\r\nContent-Length: %d\r\n\r\n%s"
          b"GET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" % (len(body), body))
got = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    got += d
heads = [m.split(b"\r\n")[0] for m in got.split(b"HTTP/1.1 ")[1:]]
assert heads == [b"200 OK", b"302 Found", b"200 OK"], got
assert b"Location: http://fwd.test:1/echo?k=" in got, got
print("pipelined: 200, 302, 200 in order; Location from the Host header")
PY
head -c $((16 * 1024 * 1024 + 1)) /dev/zero >"$TMP/big"
post "$FP" "$TMP/big"
[ "$ST" = 413 ] || fail "17 MiB POST: status $ST"
echo "health text, keep-alive inbound, 405, 413"

echo "== exit answering 404: still a 302 and the body"
start_fwd notfound --exit "http://127.0.0.1:$EP/missing"
printf 'answer-even-if-404' >"$TMP/small"
post "$FP" "$TMP/small"
[ "$ST" = 302 ] || fail "POST via 404 exit: status $ST"
tail -n1 "$TMP/exit.log" | grep -q '^/missing	18	' || fail "exit saw: $(tail -n1 "$TMP/exit.log")"
[ "$("${C[@]}" "$(hdr Location)")" = "404-fi-neve-rewsna" ] || fail "404 body not passed on"
stop_fwd "$FPID" notfound
summary notfound '^urelay forwarder: 1 posts, 1 forwarded, faults: 502=0 truncated=0 429=0 quota=0, echoes served=1$'

echo "== exit unreachable: 502"
start_fwd dead --exit "http://127.0.0.1:$(free_port)/tunnel"
post "$FP" "$TMP/small"
[ "$ST" = 502 ] || fail "unreachable exit: status $ST"
grep -q 'cannot connect' "$TMP/b" || fail "502 body: $(cat "$TMP/b")"
stop_fwd "$FPID" dead
summary dead '^urelay forwarder: 1 posts, 0 forwarded'

echo "== --fail-every 2: the exit acts, the answer is lost"
start_fwd fail --exit "$EXIT_URL" --fail-every 2
printf 'fail-one' >"$TMP/small"
post "$FP" "$TMP/small"
[ "$ST" = 302 ] || fail "POST 1: status $ST"
"${C[@]}" -o /dev/null "$(hdr Location)"
printf 'fail-two-marker' >"$TMP/small"
post "$FP" "$TMP/small"
[ "$ST" = 502 ] || fail "POST 2 with --fail-every 2: status $ST"
[ -z "$(hdr Location)" ] || fail "failed POST has a Location"
tail -n1 "$TMP/exit.log" | grep -q '	fail-two-marker$' || fail "the exit did not see POST 2"
stop_fwd "$FPID" fail
summary fail '^urelay forwarder: 2 posts, 2 forwarded, faults: 502=1 truncated=0 429=0 quota=0, echoes served=1$'

echo "== truncate, rate limit, quota, in their order"
start_fwd faults --exit "$EXIT_URL" --truncate-every 2 --rate-limit-every 3 --retry-after 7 \
  --quota-after 5
printf '0123456789' >"$TMP/small"
for n in 1 2 3 4 5 6 7; do
  before=$(exit_lines)
  post "$FP" "$TMP/small"
  after=$(exit_lines)
  case $n in
  1 | 5)
    [ "$ST" = 302 ] || fail "POST $n: status $ST"
    [ "$("${C[@]}" "$(hdr Location)")" = 9876543210 ] || fail "POST $n: echo not whole"
    ;;
  2 | 4)
    [ "$ST" = 302 ] || fail "POST $n: status $ST"
    "${C[@]}" -D "$TMP/h" -o "$TMP/got" "$(hdr Location)"
    [ "$(cat "$TMP/got")" = 98765 ] || fail "POST $n: truncated echo '$(cat "$TMP/got")'"
    [ "$(hdr Content-Length)" = 5 ] || fail "POST $n: Content-Length $(hdr Content-Length)"
    ;;
  3)
    [ "$ST" = 429 ] || fail "POST 3: status $ST"
    [ "$(hdr Retry-After)" = 7 ] || fail "POST 3: Retry-After '$(hdr Retry-After)'"
    ;;
  6 | 7)
    [ "$ST" = 200 ] || fail "POST $n: status $ST"
    [[ "$(hdr Content-Type)" == text/html* ]] || fail "POST $n: Content-Type $(hdr Content-Type)"
    grep -q 'Service invoked too many times for one day: urlfetch\.' "$TMP/b" ||
      fail "POST $n: no quota text"
    ;;
  esac
  case $n in
  3 | 6 | 7) [ "$after" = "$before" ] || fail "POST $n reached the exit" ;;
  *) [ "$after" = $((before + 1)) ] || fail "POST $n did not reach the exit" ;;
  esac
  echo "POST $n: $ST"
done
stop_fwd "$FPID" faults
summary faults '^urelay forwarder: 7 posts, 4 forwarded, faults: 502=0 truncated=2 429=1 quota=2, echoes served=4$'

echo "== --latency-ms 200"
start_fwd slow --exit "$EXIT_URL" --latency-ms 200
T=$("${C[@]}" -o /dev/null -w '%{time_total}' --data-binary @"$TMP/small" "http://127.0.0.1:$FP/exec")
python3 -c "import sys; sys.exit(0 if float('$T') >= 0.2 else 1)" || fail "POST took $T s"
T0=$("${C[@]}" -o /dev/null -w '%{time_total}' "http://127.0.0.1:$FP/")
python3 -c "import sys; sys.exit(0 if float('$T0') < 0.2 else 1)" || fail "GET took $T0 s"
echo "POST took $T s, GET $T0 s"
stop_fwd "$FPID" slow

echo "== an exit that drops a kept-alive connection, and one that never answers"
cat >"$TMP/flaky.py" <<'PY'
import socket, sys, threading
log = sys.argv[1]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
print(srv.getsockname()[1], flush=True)
def request(f):
    line = f.readline()
    if not line:
        return None
    n = 0
    while True:
        h = f.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode().partition(":")
        if k.strip().lower() == "content-length":
            n = int(v)
    return line.split()[1].decode(), f.read(n)
def serve(c):
    try:
        talk(c)
    except OSError:
        pass  # the forwarder resets connections when it stops
    c.close()
def talk(c):
    f, count, port = c.makefile("rb"), 0, c.getpeername()[1]
    while True:
        r = request(f)
        if r is None:
            break
        count += 1
        with open(log, "a") as lf:
            lf.write("%s %d %d %s\n" % (r[0], port, count, r[1].decode("latin1")))
        if r[0] == "/hang":
            f.read()  # until the forwarder gives up
            break
        if count == 2:
            break  # closes without an answer, as on an idle timeout
        out = r[1][::-1]
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(out) + out)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
: >"$TMP/flaky.log"
python3 "$TMP/flaky.py" "$TMP/flaky.log" >"$TMP/flakyexit.port" 2>"$TMP/flakyexit.err" &
PIDS+=($!)
wait_line "$TMP/flakyexit.port" '^[0-9]+$' 10
FL=$(head -n1 "$TMP/flakyexit.port")
start_fwd flaky --exit "http://127.0.0.1:$FL/tunnel"
printf 'first' >"$TMP/small"
post "$FP" "$TMP/small"
[ "$ST" = 302 ] && [ "$("${C[@]}" "$(hdr Location)")" = tsrif ] || fail "flaky exit, POST 1"
printf 'second' >"$TMP/small"
post "$FP" "$TMP/small"
[ "$ST" = 302 ] || fail "flaky exit, POST 2: status $ST: $(cat "$TMP/b")"
[ "$("${C[@]}" "$(hdr Location)")" = dnoces ] || fail "flaky exit, POST 2: echo"
# second: dropped on the reused connection (its 2nd request), answered on a new one
p1=$(awk '$4 == "first" {print $2}' "$TMP/flaky.log")
grep -q "^/tunnel $p1 2 second$" "$TMP/flaky.log" || fail "flaky log: $(cat "$TMP/flaky.log")"
grep "^/tunnel [0-9]* 1 second$" "$TMP/flaky.log" | grep -vq " $p1 1 " || fail "no retry on a new connection"
echo "a POST lost on a reused connection is retried once on a new one"
stop_fwd "$FPID" flaky
summary flaky '^urelay forwarder: 2 posts, 2 forwarded, faults: 502=0 truncated=0 429=0 quota=0, echoes served=2$'

start_fwd hang --exit "http://127.0.0.1:$FL/hang" --exit-timeout-ms 300
T=$("${C[@]}" -o "$TMP/b" -w '%{http_code} %{time_total}' --data-binary @"$TMP/small" "http://127.0.0.1:$FP/exec")
[ "${T%% *}" = 502 ] || fail "hanging exit: status ${T%% *}"
python3 -c "import sys; sys.exit(0 if 0.29 <= float('${T#* }') < 5 else 1)" || fail "hanging exit: took ${T#* } s"
grep -q 'no answer within 300 ms' "$TMP/b" || fail "hanging exit: body $(cat "$TMP/b")"
echo "an exit that never answers: 502 after ${T#* } s"
stop_fwd "$FPID" hang

echo "== SIGTERM summary of the plain forwarder"
stop_fwd "$PLAIN" plain
summary plain '^urelay forwarder: 6 posts, 6 forwarded, faults: 502=0 truncated=0 429=0 quota=0, echoes served=2$'
echo ok
