# SPDX-License-Identifier: MIT
# Varnish storing the gzip copy it makes of a response once (do_gzip), and serving it to
# clients that take gzip (http_gzip_support, on by default).
vcl 4.1;
backend origin {
	.host = "127.0.0.1";
	.port = "@ORIGIN_PORT@";
}
sub vcl_backend_response {
	if (beresp.http.Content-Type ~ "json") {
		set beresp.do_gzip = true;
	}
}
