/*
 * mastodon_instance — what a Mastodon app reads first: the instance
 * documents (its limits, the streaming URL) and nodeinfo, from which
 * libraries such as megalodon tell what kind of server they talk to.
 *
 * The version string is Mastodon's form with chirp named inside:
 * "4.2.0 (compatible; chirp 1.0)". Clients parse the leading number to
 * decide which Mastodon features to use; 4.2 is the API chirp follows.
 */
#include <string.h>

#include "api/mastodon.h"
#include "core/model.h"
#include "http/respond.h"

#define MASTODON_VERSION "4.2.0 (compatible; chirp 1.0)"
#define TITLE "chirp"
#define DESCRIPTION "A small microblog server. Posts are public; chirp does not federate."

static json_t *mime_types(void)
{
	return json_pack("[sss]", "image/jpeg", "image/png", "image/webp");
}

/* The streaming URL: ws:// on plain HTTP, wss:// behind TLS. */
static json_t *streaming_url(struct ctx *c)
{
	const char *base = mastodon_base_url(c);
	bool tls = strncmp(base, "https://", 8) == 0;
	const char *host = base + (tls ? 8 : 7);
	char *s = h2o_mem_alloc_pool(&c->req->pool, strlen(host) + 7);
	strcpy(s, tls ? "wss://" : "ws://");
	strcat(s, host);
	return json_string(s);
}

static json_t *statuses_config(void)
{
	return json_pack("{si, si, si}", "max_characters", TEXT_MAX_CP,
			 "max_media_attachments", MEDIA_PER_TWEET_MAX,
			 "characters_reserved_per_url", 23);
}

static json_t *media_config(struct ctx *c)
{
	return json_pack("{s:o, sI, sI, sI, sI, sI}", "supported_mime_types", mime_types(),
			 "image_size_limit", (json_int_t)c->app->cfg->media_max_bytes,
			 "image_matrix_limit", (json_int_t)c->app->cfg->media_max_pixels,
			 "video_size_limit", (json_int_t)0, "video_frame_rate_limit", (json_int_t)0,
			 "video_matrix_limit", (json_int_t)0);
}

static json_t *polls_config(void)
{
	/* chirp has no polls: clients that read this offer none. */
	return json_pack("{si, si, si, si}", "max_options", 0, "max_characters_per_option", 0,
			 "min_expiration", 0, "max_expiration", 0);
}

/* GET /api/v1/instance */
void mastodon_instance_v1(struct ctx *c)
{
	const char *base = mastodon_base_url(c);
	const char *host = strstr(base, "://") + 3;
	json_t *v = json_pack(
		"{ss, ss, ss, ss, ss, ss, s:{s:o}, s:{si, si, si}, s:n, s:[s], sb, sb, sb, "
		"s:{s:o, s:o, s:o, s:{si}}, s:n, s:[]}",
		"uri", host, "title", TITLE, "short_description", DESCRIPTION, "description",
		DESCRIPTION, "email", "", "version", MASTODON_VERSION, "urls", "streaming_api",
		streaming_url(c), "stats", "user_count", 0, "status_count", 0, "domain_count", 1,
		"thumbnail", "languages", "en", "registrations", 1, "approval_required", 0,
		"invites_enabled", 0, "configuration", "statuses", statuses_config(),
		"media_attachments", media_config(c), "polls", polls_config(), "accounts",
		"max_featured_tags", 0, "contact_account", "rules");
	mastodon_send(c, 200, v);
}

/* GET /api/v2/instance */
void mastodon_instance_v2(struct ctx *c)
{
	const char *base = mastodon_base_url(c);
	const char *host = strstr(base, "://") + 3;
	json_t *v = json_pack(
		"{ss, ss, ss, ss, ss, s:{s:{si}}, s:{s:n}, s:[s], "
		"s:{s:{s:o}, s:{si}, s:o, s:o, s:o, s:{sb}}, "
		"s:{sb, sb, s:n}, s:{ss, s:n}, s:[]}",
		"domain", host, "title", TITLE, "version", MASTODON_VERSION, "source_url", "",
		"description", DESCRIPTION, "usage", "users", "active_month", 0, "thumbnail", "url",
		"languages", "en", "configuration", "urls", "streaming", streaming_url(c),
		"accounts", "max_featured_tags", 0, "statuses", statuses_config(),
		"media_attachments", media_config(c), "polls", polls_config(), "translation",
		"enabled", 0, "registrations", "enabled", 1, "approval_required", 0, "message",
		"contact", "email", "", "account", "rules");
	mastodon_send(c, 200, v);
}

/* GET /.well-known/nodeinfo */
void mastodon_nodeinfo_wellknown(struct ctx *c)
{
	char *href = h2o_mem_alloc_pool(&c->req->pool, strlen(mastodon_base_url(c)) + 20);
	strcpy(href, mastodon_base_url(c));
	strcat(href, "/nodeinfo/2.0");
	mastodon_send(c, 200,
		      json_pack("{s:[{ss, ss}]}", "links", "rel",
				"http://nodeinfo.diaspora.software/ns/schema/2.0", "href", href));
}

/* GET /nodeinfo/2.0: "mastodon" as the software, so clients that branch on
 * it speak the Mastodon API; the metadata says it is chirp. */
void mastodon_nodeinfo(struct ctx *c)
{
	json_t *v = json_pack(
		"{ss, s:{ss, ss}, s:[], s:{s:[], s:[]}, sb, s:{s:{si, si, si}, si}, "
		"s:{ss, ss}}",
		"version", "2.0", "software", "name", "mastodon", "version", MASTODON_VERSION,
		"protocols", "services", "inbound", "outbound", "openRegistrations", 1, "usage",
		"users", "total", 0, "activeMonth", 0, "activeHalfyear", 0, "localPosts", 0,
		"metadata", "nodeName", TITLE, "software", "chirp");
	mastodon_send(c, 200, v);
}

/* GET /avatars/original/missing.png (and the header's): Mastodon's "no
 * image" picture, which the Accounts point at; a 1x1 grey PNG. */
void mastodon_missing_image(struct ctx *c)
{
	static const unsigned char png[] = {
		0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
		0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
		0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b, 0x55, 0x00, 0x00, 0x00,
		0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xd8, 0x01, 0x00, 0x00,
		0xba, 0x00, 0xb9, 0x9e, 0x9e, 0xe2, 0x05, 0x00, 0x00, 0x00, 0x00, 0x49,
		0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
	};
	http_header_set(c->req, "cache-control", H2O_STRLIT("public, max-age=86400"));
	http_send(c->req, 200, "image/png", (const char *)png, sizeof(png));
}
