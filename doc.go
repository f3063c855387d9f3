// Package portico holds the domain of the Portico API manager: APIs, plans,
// users, applications, keys and subscriptions; the Error type and its
// codes; and the small interfaces between the parts (Store, Limiter,
// NotificationStore, CounterStore). Adapters live in sub-packages named
// after what they wrap and know each other only through this package;
// cmd/portico wires them together.
package portico
