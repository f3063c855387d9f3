// Package wsconfig writes the config of a cluster's front door: the web
// server (nginx, Apache with mod_proxy_balancer or mod_jk, HAProxy, IIS
// with ARR) that spreads requests over the nodes' gateways by their lb
// factors. portico wsconfig (cmd/portico) wires it to cluster.xml or the
// data store's registry.
//
// # Moving parts
//
//   - Render is a pure function from a member list (Members: name,
//     gateway, admin and AJP addresses, lb factor, up or down) and Options
//     (listener, --portal, --portal-host, AJP secret, output directory,
//     time) to the files of one server's config. Every member that is up
//     gets traffic by its lb factor; a member that is down (draining) is
//     listed but gets none (nginx down, Apache status=+D, mod_jk
//     activation=D, HAProxy disabled, IIS enabled="false"). A request
//     whose connection to a node was refused goes to the next node; after
//     a timeout or a connection that closed without an answer only an
//     idempotent one does (nginx: not POST, PATCH, LOCK; HAProxy: GET,
//     HEAD, OPTIONS, PUT, DELETE; mod_jk: GET, HEAD; Apache's mod_proxy:
//     none), so a POST that may have reached a node is never sent twice
//     (the live tests show it for nginx, Apache and HAProxy). Every path
//     goes to the gateways; the admin API and the console stay on the
//     admin listeners, which the front end reaches only for the developer
//     portal's prefix with Options.Portal (and then only on
//     Options.PortalHost when it is set: see below): nginx and Apache
//     match the path after they cleaned it of dot segments, HAProxy
//     matches it as sent and refuses (400) a portal path with dot
//     segments, encoded dots or slashes, or backslashes, so that no
//     request reaches an admin listener outside the prefix
//     (TestLivePortal, TestLivePortalHost). A list with no member up is
//     never rendered (ErrNoMembers), and Validate keeps every text that
//     reaches a config to what cannot add a directive to it. The golden
//     files under testdata show each server's output.
//   - Check runs the server's own configuration test (nginx -t, apache2 -t,
//     haproxy -c) on a minimal main config around a candidate, never on
//     the server's installed one; IIS, which cannot run here, gets a
//     structure check of its XML. Command makes a Checker of a shell
//     command.
//   - Install renders into a candidate directory, checks it, and only then
//     replaces each changed file atomically, records them in
//     wsconfig.manifest and appends what changed (files, members added,
//     removed and changed) to wsconfig.log. Uninstall removes exactly the
//     files that the manifest lists.
//   - Watcher polls the member list and installs each change, debounced
//     (at most MaxDebounce), then runs a reload command; a list with no
//     member up, a failed check or a failed reload keeps the last good
//     config and is logged.
//
// # The developer portal's origin
//
// With Options.Portal alone, the portal is served on every host name the
// front end serves, the APIs' too. A page that any publisher's backend
// serves through the gateway is then same-origin with the portal: its
// script can read the portal's pages, take their CSRF token and act as
// the signed-in subscriber (the session cookie's Path=/portal/ does not
// stop same-origin script). portico wsconfig still renders it, with a
// warning on stderr.
//
// Options.PortalHost (--portal-host NAME, one DNS name: ParsePortalHost)
// gives the portal a host name of its own. Only a request whose Host is
// NAME (in any case, with any port) reaches the admin listeners, and only
// under PortalPrefix; every other path on NAME answers 404 from the front
// end (nginx redirects /portal to /portal/) and reaches no node; on every other host name PortalPrefix answers
// 404 and reaches no node (not the gateways either), and the rest goes to
// the gateways as before. nginx: a second server {} with server_name NAME
// after the APIs' one, which stays the listener's default; Apache and
// mod_jk's mod_jk.conf: a second <VirtualHost> with ServerName NAME, 404s
// from mod_alias (RedirectMatch 404); HAProxy: an ACL on the Host header
// without its port (req.hdr(host),field(1,:) -i); IIS: a {HTTP_HOST}
// condition on the portal's rule and CustomResponse 404 rules (checked
// only against golden files and Check's structure rules). TestLivePortalHost shows it for nginx, Apache, mod_jk and HAProxy: no
// Host of the requests sent, odd ones included, reached both the admin
// listener and the gateway. A name under the same registrable domain as
// the APIs' (portal.example.com beside api.example.com) is another origin
// but the same site: an API's backend can still set a cookie for the
// parent domain that the portal receives. A registrable domain of its own
// avoids that too.
//
// # Health checks
//
// A node's health endpoint is GET /healthz on its admin listener
// (HealthPath); the gateway listener has none. HAProxy checks it there
// (or, when a member has no admin address, connects to the gateway);
// mod_jk sends AJP CPing/CPong to the AJP listener. nginx (open source),
// Apache's mod_proxy and IIS's ARR have no active check against another
// port: they take a node out for a while after it failed a request.
package wsconfig
