#!/bin/sh
# tls_gencerts.sh DIR: writes throwaway test certificates (EC P-256) into DIR,
# for test_tls and the wss:// end-to-end tests. Never use them for anything
# else: the keys sit unencrypted in a temp dir.
#   ca.crt ca.key             a CA, "urelay test CA"
#   server.crt server.key     "relay.test" (CN and SAN), signed by the CA
#   self.crt self.key         "relay.test", self-signed, not from the CA
#   expired.crt expired.key   "relay.test", signed by the CA, expired in 2021
set -eu
d=${1:?usage: tls_gencerts.sh DIR}
cd "$d"
ossl() { openssl "$@" 2>/dev/null; }
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

ossl req -x509 $ec -keyout ca.key -out ca.crt -days 30 -subj "/CN=urelay test CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

printf '%s\n' "subjectAltName=DNS:relay.test" "basicConstraints=CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" > leaf.ext
ossl req $ec -keyout server.key -out server.csr -subj "/CN=relay.test"
ossl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -set_serial 2 -days 30 \
        -extfile leaf.ext -out server.crt

ossl req -x509 $ec -keyout self.key -out self.crt -days 30 -subj "/CN=relay.test" \
        -addext "subjectAltName=DNS:relay.test"

# openssl 3.0's x509 cannot backdate; `openssl ca` can, with a minimal setup.
mkdir -p ca.db && : > ca.db/index.txt && echo 03 > ca.db/serial
cat > ca.cnf <<CNF
[ca]
default_ca = d
[d]
dir = ca.db
database = ca.db/index.txt
serial = ca.db/serial
new_certs_dir = ca.db
default_md = sha256
policy = p
copy_extensions = none
[p]
commonName = supplied
CNF
ossl req $ec -keyout expired.key -out expired.csr -subj "/CN=relay.test"
ossl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in expired.csr -out expired.crt \
        -startdate 20200101000000Z -enddate 20210101000000Z -extfile leaf.ext -notext
