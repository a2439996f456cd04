# Sourced by the scripts and e2e tests that start servers on loopback.
#
# free_port prints a free 127.0.0.1 port that this run has not handed out
# before. The kernel's own choice (bind to port 0) may return a just-closed
# port again and again, and two listeners of one run would then collide; so
# the port is drawn at random below the ephemeral range (20000-32767: no
# outgoing connection takes one), checked with a bind, and recorded in
# $PORTS_FILE (set it to a file in the run's temporary directory).
free_port() {
  python3 - "${PORTS_FILE:?}" <<'PY'
import random, socket, sys
path = sys.argv[1]
try:
    used = set(open(path).read().split())
except OSError:
    used = set()
for _ in range(500):
    p = random.randint(20000, 32767)
    if str(p) in used:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    with open(path, "a") as f:
        f.write(f"{p}\n")
    print(p)
    sys.exit(0)
sys.exit("free_port: no free port found in 20000-32767")
PY
}
