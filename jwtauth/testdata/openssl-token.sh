#!/bin/sh
# Makes test JWTs with openssl, as the README's "Authentication → JWT"
# section shows. Usage:
#   openssl-token.sh hs256 SECRET ISSUER APPLICATION        # HS256, shared secret
#   openssl-token.sh rs256 KEY.pem ISSUER APPLICATION [KID] # RS256, private key file
# The token lives one hour and names the application in client_id.
set -eu
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
alg=$1 key=$2 iss=$3 app=$4 kid=${5:-}
exp=$(( $(date +%s) + 3600 ))
case $alg in
hs256) header='{"alg":"HS256","typ":"JWT"}' ;;
rs256) header='{"alg":"RS256","typ":"JWT"'${kid:+',"kid":"'$kid'"'}'}' ;;
*) echo "unknown algorithm $alg" >&2; exit 2 ;;
esac
h=$(printf '%s' "$header" | b64url)
p=$(printf '{"iss":"%s","client_id":"%s","exp":%d}' "$iss" "$app" "$exp" | b64url)
case $alg in
hs256) s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -hmac "$key" -binary | b64url) ;;
rs256) s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -sign "$key" -binary | b64url) ;;
esac
printf '%s.%s.%s\n' "$h" "$p" "$s"
