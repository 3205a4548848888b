#!/usr/bin/env bash
# A classroom's Latent Lab: N Streamlit servers behind nginx on one port, each browser session kept on one server.
#
#   bash scripts/serve.sh N [PORT]      # N servers (default 2) on 127.0.0.1:8501.., nginx on PORT (default 8080)
#
# Installs Debian's nginx when it is absent (apt-get, as root). Runs in the foreground: Ctrl-C, or a TERM to this
# script, stops nginx, every server and their training workers. Environment:
#   LATENTLAB_HOST      the address nginx listens on (default 127.0.0.1; 0.0.0.0 to let a classroom in)
#   LATENTLAB_BASE_PORT the first server's port (default 8501)
#   AAE_DATA_DIR, AAE_RUNS_DIR, ...  passed to the servers as they are (all servers share one runs folder)
# Logs and nginx's files: a temporary folder, printed at the start and removed at the end.
# bench/load_test.py --url http://127.0.0.1:PORT --servers 8501,8502 measures what it holds.
set -euo pipefail

N=${1:-2}
PORT=${2:-8080}
HOST=${LATENTLAB_HOST:-127.0.0.1}
BASE=${LATENTLAB_BASE_PORT:-8501}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STREAMLIT="$ROOT/.venv/bin/streamlit"
[[ $N =~ ^[0-9]+$ && $N -ge 1 && $N -le 64 ]] || { echo "usage: $0 N [PORT]  (N: 1..64 servers)" >&2; exit 2; }
[[ -x $STREAMLIT ]] || { echo "no $STREAMLIT: make the project's .venv first" >&2; exit 1; }

if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
    command -v apt-get >/dev/null || { echo "nginx is missing and there is no apt-get to install it" >&2; exit 1; }
    [[ $(id -u) -eq 0 ]] || { echo "nginx is missing: run 'sudo apt-get install -y nginx' first" >&2; exit 1; }
    echo "installing nginx (Debian's package)..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y nginx >/dev/null \
        || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx >/dev/null; }
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

PREFIX=$(mktemp -d -t latentlab-serve.XXXXXX)
mkdir -p "$PREFIX"/tmp/{body,proxy,fastcgi,uwsgi,scgi}
chmod 755 "$PREFIX"
chmod 777 "$PREFIX"/tmp/*  # nginx's workers run as nobody when the master is root
PIDS=()  # each server leads a process group of its own: killing the group ends its training workers too
NGINX_PID=

stop() {
    trap - INT TERM EXIT
    echo "stopping nginx and ${#PIDS[@]} server(s)..."
    if [[ -n $NGINX_PID ]]; then kill -QUIT "$NGINX_PID" 2>/dev/null || true; fi
    for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        alive=0
        for pid in "${PIDS[@]}" $NGINX_PID; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [[ $alive -eq 0 ]] && break
        sleep 0.2
    done
    for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    if [[ -n $NGINX_PID ]]; then kill -KILL "$NGINX_PID" 2>/dev/null || true; fi
    rm -rf "$PREFIX"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

UPSTREAMS=""
for i in $(seq 0 $((N - 1))); do
    P=$((BASE + i))
    if (exec 3<>"/dev/tcp/127.0.0.1/$P") 2>/dev/null; then echo "port $P is taken" >&2; exit 1; fi
    (cd "$ROOT" && exec setsid "$STREAMLIT" run serve.py --server.port "$P" --server.headless true \
        --server.address 127.0.0.1 --browser.gatherUsageStats false) >"$PREFIX/server-$P.log" 2>&1 &
    PIDS+=($!)
    UPSTREAMS+="        server 127.0.0.1:$P max_fails=0;"$'\n'
done

sed -e "s|@LISTEN@|$HOST:$PORT|" -e "s|@PREFIX@|$PREFIX|g" "$ROOT/deploy/nginx.conf" \
    | awk -v servers="$UPSTREAMS" '/^@UPSTREAM_SERVERS@$/ { printf "%s", servers; next } { print }' >"$PREFIX/nginx.conf"
"$NGINX" -t -q -p "$PREFIX" -c "$PREFIX/nginx.conf"

for i in $(seq 0 $((N - 1))); do  # each server up before the proxy sends anyone to it
    P=$((BASE + i))
    for _ in $(seq 240); do
        "$ROOT/.venv/bin/python" - "$P" <<'PY' && break
import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_stcore/health", timeout=2).status == 200 else 1)
except OSError:
    sys.exit(1)
PY
        kill -0 "${PIDS[$i]}" 2>/dev/null || { echo "server on $P died:" >&2; tail -20 "$PREFIX/server-$P.log" >&2; exit 1; }
        sleep 0.5
    done
done

"$NGINX" -p "$PREFIX" -c "$PREFIX/nginx.conf" -g "daemon off;" &
NGINX_PID=$!
echo "Latent Lab on http://$HOST:$PORT/ : $N server(s) on ports $BASE..$((BASE + N - 1)), logs in $PREFIX"
wait -n "$NGINX_PID" "${PIDS[@]}" || true
echo "a process ended on its own; stopping the rest" >&2
exit 1
