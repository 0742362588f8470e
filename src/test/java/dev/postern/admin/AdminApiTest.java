package dev.postern.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.message.DkimKeys;
import dev.postern.testing.LogOnFailure;
import dev.postern.testing.ScriptedPeer;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The admin API against its description (src/main/resources/openapi.json): every route the endpoint serves
 * is described, and every described operation is called on a running server and answers with a documented
 * status and a body that fits the documented schema.
 */
@ExtendWith(LogOnFailure.class)
class AdminApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path dir;

    private JsonNode doc;
    private HttpClient http;
    private String base, token;
    private final Set<String> exercised = new TreeSet<>();

    @Test void everyRouteIsDescribedAndEveryDescribedOperationAnswersAsDescribed() throws Exception {
        try (var in = AdminEndpoint.class.getResourceAsStream("/openapi.json")) {
            doc = JSON.readTree(in);
        }
        try (ScriptedPeer slow = new ScriptedPeer("127.0.0.2");
             TestServer server = TestServer.builder().relayNetworks("127.0.0.1/32")
                     .transport("slow.test", "[127.0.0.2]:" + slow.port()).start()) {
            slow.rcptReply = rcpt -> "451 4.3.0 try later";
            AdminEndpoint admin = server.server.admin();
            Set<String> served = new TreeSet<>(), open = new TreeSet<>();
            for (AdminHttp.Route r : admin.routes()) {
                served.add(r.method() + " " + r.template());
                if (r.open()) open.add(r.method() + " " + r.template());
            }
            assertThat(served).as("routes served = operations described").isEqualTo(operations(false));
            assertThat(open).as("routes without a token = operations with security []").isEqualTo(operations(true));

            http = HttpClient.newHttpClient();
            base = "http://127.0.0.1:" + admin.port();
            token = Files.readString(server.config.adminTokenFile()).strip();
            KeyPairGenerator g = KeyPairGenerator.getInstance("Ed25519");
            Files.createDirectories(server.config.dkimKeyDir());
            Files.writeString(server.config.dkimKeyDir().resolve("example.test.s1.key"), DkimKeys.pem(g.generateKeyPair().getPrivate()));

            try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
                for (int i = 0; i < 2; i++) {
                    assertThat(c.sendMail("news@lists.example.org", "reader" + i + "@slow.test", "Subject: news " + i + "\r\n\r\nx")).startsWith("250");
                }
                assertThat(c.sendMail("alice@example.test", "friend@slow.test", "Subject: hello\r\n\r\nhi")).startsWith("250");
            }
            long deadline = System.currentTimeMillis() + 10_000;
            while (System.currentTimeMillis() < deadline
                    && server.server.queue().list().stream().anyMatch(m -> m.recipients().get(0).attempts() == 0)) Thread.sleep(50);

            JsonNode all = call("GET", "/queue", "/queue", null, 200);
            assertThat(all.path("count").asInt()).isEqualTo(3);
            assertThat(call("GET", "/queue", "/queue?recipient=READER", null, 200).path("count").asInt()).isEqualTo(2);
            assertThat(call("GET", "/queue", "/queue?sender=alice%40&status=deferred&max_age=1h", null, 200).path("count").asInt()).isEqualTo(1);
            assertThat(call("GET", "/queue", "/queue?min_age=1h", null, 200).path("count").asInt()).isZero();
            call("GET", "/queue", "/queue?status=lost", null, 400);
            call("GET", "/queue", "/queue?colour=red", null, 400);
            String alices = call("GET", "/queue", "/queue?sender=alice", null, 200).path("messages").get(0).path("id").asText();

            JsonNode shown = call("GET", "/queue/{id}", "/queue/" + alices, null, 200);
            assertThat(shown.path("headers").asText()).contains("Subject: hello").contains("Received: ");
            assertThat(shown.path("envelope").path("client_address").asText()).isEqualTo("127.0.0.1");
            assertThat(shown.path("recipients").get(0).path("last_reply").asText()).contains("451 4.3.0 try later");
            call("GET", "/queue/{id}", "/queue/NoSuchId0000000", null, 404);

            JsonNode trace = call("GET", "/trace/{id}", "/trace/" + alices, null, 200);
            assertThat(trace.path("events").findValuesAsText("text")).anyMatch(t -> t.startsWith("from=<alice@example.test>"))
                    .anyMatch(t -> t.contains("to=<friend@slow.test>") && t.contains("status=deferred"));
            call("GET", "/trace/{id}", "/trace/NoSuchId0000000", null, 404);

            call("POST", "/queue/{id}/{action}", "/queue/" + alices + "/hold", null, 200);
            assertThat(call("GET", "/queue", "/queue?status=held", null, 200).path("count").asInt()).isEqualTo(1);
            call("POST", "/queue/{id}/{action}", "/queue/" + alices + "/release", null, 200);
            call("POST", "/queue/{id}/{action}", "/queue/" + alices + "/retry", null, 200);
            call("POST", "/queue/{id}/{action}", "/queue/" + alices + "/frobnicate", null, 404);
            call("POST", "/queue/{id}/{action}", "/queue/NoSuchId0000000/hold", null, 404);
            call("POST", "/queue/actions/{action}", "/queue/actions/hold", null, 400);
            JsonNode held = call("POST", "/queue/actions/{action}", "/queue/actions/hold?recipient=reader", null, 200);
            assertThat(held.path("matched").asInt()).isEqualTo(2);
            assertThat(call("GET", "/queue", "/queue?status=held", null, 200).path("count").asInt()).isEqualTo(2);
            call("POST", "/queue/actions/{action}", "/queue/actions/explode?all=true", null, 404);
            JsonNode deleted = call("POST", "/queue/actions/{action}", "/queue/actions/delete?status=held", null, 200);
            assertThat(deleted.path("ids")).hasSize(2);
            assertThat(call("GET", "/queue", "/queue", null, 200).path("count").asInt()).isEqualTo(1);
            call("POST", "/queue/flush", "/queue/flush", null, 200);
            call("POST", "/queue/{id}/{action}", "/queue/" + alices + "/bounce", null, 200);
            assertThat(server.awaitMail("alice@example.test", 1)).as("the bounce reached alice").hasSize(1);

            assertThat(call("GET", "/users", "/users", null, 200).path("users").toString()).contains("alice@example.test");
            call("POST", "/users", "/users", "{\"address\":\"carol@example.test\",\"password\":\"pw1\"}", 201);
            try (SmtpClient c = SmtpClient.ehlo(server.smtp())) { // in effect when the answer came
                c.command("MAIL FROM:<x@example.org>", "250");
                c.command("RCPT TO:<carol@example.test>", "250");
            }
            call("POST", "/users", "/users", "{\"address\":\"carol@example.test\",\"password\":\"pw1\"}", 409);
            call("POST", "/users", "/users", "{\"address\":\"eve@elsewhere.test\",\"password\":\"pw1\"}", 400);
            call("POST", "/users/{address}/password", "/users/carol@example.test/password", "{\"password\":\"pw2\"}", 200);
            call("POST", "/users/{address}/password", "/users/carol@example.test/password", "{}", 400);
            call("POST", "/users/{address}/password", "/users/nobody@example.test/password", "{\"password\":\"pw2\"}", 404);
            call("DELETE", "/users/{address}", "/users/carol@example.test", null, 200);
            call("DELETE", "/users/{address}", "/users/carol@example.test", null, 404);
            call("POST", "/users/reload", "/users/reload", null, 200);

            assertThat(call("GET", "/domains", "/domains", null, 200).path("domains").toString()).contains("example.test");
            JsonNode keys = call("GET", "/dkim", "/dkim", null, 200).path("keys");
            assertThat(keys).hasSize(1);
            assertThat(keys.get(0).path("record").asText()).startsWith("v=DKIM1; k=ed25519; p=");
            call("GET", "/alerts", "/alerts", null, 200);
            call("GET", "/metrics", "/metrics", null, 200);
            assertThat(call("GET", "/metrics/values", "/metrics/values", null, 200).has("postern_queue_messages")).isTrue();
            call("GET", "/openapi.json", "/openapi.json", null, 200);
            call("POST", "/policy/reload", "/policy/reload", null, 200);
            Path backup = dir.resolve("b.zip");
            call("POST", "/backup", "/backup?to=" + backup, null, 200);
            assertThat(backup).exists();
            call("POST", "/backup", "/backup?to=relative.zip", null, 400);
            call("GET", "/dmarc/summary", "/dmarc/summary", null, 200);
            call("GET", "/dmarc/summary", "/dmarc/summary?days=0", null, 400);
            call("POST", "/dmarc/send", "/dmarc/send?day=yesterday", null, 400);
            call("POST", "/dmarc/send", "/dmarc/send?day=2026-01-01", null, 200);

            Path broken = Files.writeString(dir.resolve("broken.toml"), "[limits]\nmax_recipients = -1\n");
            server.server.reloadsFrom(broken); // ReloadTest applies good ones
            JsonNode refused = call("POST", "/reload", "/reload", null, 400);
            assertThat(refused.path("problems").get(0).asText()).contains("broken.toml:2: limits.max_recipients");
            JsonNode history = call("GET", "/stats/history", "/stats/history", null, 200);
            long accepted = 0; // the messages may fall either side of a minute's sampling
            for (JsonNode v : history.path("series").path("accepted")) accepted += v.asLong();
            assertThat(accepted).as("the minutes so far count the messages accepted").isGreaterThanOrEqualTo(3);
            call("GET", "/console", "/console", null, 200);
            call("GET", "/console", "/console/", null, 200);
            call("GET", "/console/{file}", "/console/app.js", null, 200);
            call("GET", "/console/{file}", "/console/app.css", null, 200);
            call("GET", "/console/{file}", "/console/..%2Fopenapi.json", null, 404);
            call("GET", "/console/{file}", "/console/missing.js", null, 404);
            call("GET", "/console/session", "/console/session", null, 401);
            call("POST", "/console/login", "/console/login", "{\"token\":\"wrong\"}", 401);
            JsonNode session = call("POST", "/console/login", "/console/login", "{\"token\":\"" + token + "\"}", 200);
            assertThat(session.path("csrf").asText()).hasSize(64);
            call("POST", "/console/logout", "/console/logout", null, 200);
            // failed logins are limited per client address: after 5, even the right token waits out the window
            for (int i = 1; i < Console.MAX_FAILURES; i++) call("POST", "/console/login", "/console/login", "{\"token\":\"wrong\"}", 401);
            call("POST", "/console/login", "/console/login", "{\"token\":\"" + token + "\"}", 429);

            assertThat(exercised).as("every described operation was called").isEqualTo(operations(false));

            // no token, a wrong token, a wrong method, an unknown path
            assertThat(send("GET", "/queue", null, null).statusCode()).isEqualTo(401);
            assertThat(send("GET", "/queue", null, "0".repeat(64)).statusCode()).isEqualTo(401);
            assertThat(send("DELETE", "/queue", null, token).statusCode()).isEqualTo(405);
            assertThat(send("GET", "/nothing/here", null, token).statusCode()).isEqualTo(404);
        }
    }

    @Test void boundBeyondLoopbackTheEndpointSpeaksHttpsOnlyAndItsSessionCookieIsSecure() throws Exception {
        try (TestServer server = TestServer.builder().adminHost("127.0.0.2").start()) {
            int port = server.server.admin().port();
            String token = Files.readString(server.config.adminTokenFile()).strip();
            HttpClient plain = HttpClient.newHttpClient();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> plain.send(HttpRequest.newBuilder(URI.create("http://127.0.0.2:" + port + "/queue"))
                    .header("Authorization", "Bearer " + token).timeout(java.time.Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()))
                    .isInstanceOf(java.io.IOException.class);
            // the self-signed certificate names mx.example.test, not 127.0.0.2: trusted and matched here by hand
            javax.net.ssl.HttpsURLConnection q = (javax.net.ssl.HttpsURLConnection) URI.create("https://127.0.0.2:" + port + "/queue").toURL().openConnection();
            q.setSSLSocketFactory(SmtpClient.trustAll().getSocketFactory());
            q.setHostnameVerifier((host, session) -> true);
            q.setRequestProperty("Authorization", "Bearer " + token);
            assertThat(q.getResponseCode()).isEqualTo(200);
            javax.net.ssl.HttpsURLConnection login = (javax.net.ssl.HttpsURLConnection) URI.create("https://127.0.0.2:" + port + "/console/login").toURL().openConnection();
            login.setSSLSocketFactory(SmtpClient.trustAll().getSocketFactory());
            login.setHostnameVerifier((host, session) -> true);
            login.setDoOutput(true);
            login.getOutputStream().write(("{\"token\":\"" + token + "\"}").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            assertThat(login.getResponseCode()).isEqualTo(200);
            assertThat(login.getHeaderField("Set-Cookie")).contains("HttpOnly").contains("SameSite=Strict").contains("Secure");
        }
    }

    /** "METHOD /template" of every operation in the description; only those with security [] when open. */
    private Set<String> operations(boolean open) {
        Set<String> ops = new TreeSet<>();
        doc.path("paths").fields().forEachRemaining(p -> p.getValue().fields().forEachRemaining(op -> {
            boolean isOpen = op.getValue().has("security") && op.getValue().path("security").isEmpty();
            if (!open || isOpen) ops.add(op.getKey().toUpperCase(Locale.ROOT) + " " + p.getKey());
        }));
        return ops;
    }

    private HttpResponse<String> send(String method, String path, String body, String bearer) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (bearer != null) b.header("Authorization", "Bearer " + bearer);
        if (body != null) b.header("Content-Type", "application/json");
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Calls an operation and checks the answer against the description; returns the JSON body (null for text). */
    private JsonNode call(String method, String template, String path, String body, int expected) throws Exception {
        HttpResponse<String> r = send(method, path, body, token);
        assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isEqualTo(expected);
        JsonNode op = doc.path("paths").path(template).path(method.toLowerCase(Locale.ROOT));
        assertThat(op.isMissingNode()).as(method + " " + template + " is described").isFalse();
        JsonNode response = op.path("responses").path(String.valueOf(expected));
        assertThat(response.isMissingNode()).as(method + " " + template + " documents " + expected).isFalse();
        exercised.add(method + " " + template);
        String type = r.headers().firstValue("Content-Type").orElse("");
        JsonNode content = response.path("content");
        String documented = null;
        for (Iterator<String> it = content.fieldNames(); it.hasNext(); ) {
            String t = it.next();
            if (type.startsWith(t)) documented = t;
        }
        assertThat(documented).as("content type " + type + " of " + method + " " + path + " is documented: " + content).isNotNull();
        if (!documented.equals("application/json")) {
            assertThat(r.body()).isNotEmpty();
            return null;
        }
        JsonNode value = JSON.readTree(r.body());
        List<String> problems = new java.util.ArrayList<>();
        validate(value, content.path(documented).path("schema"), "$", problems);
        assertThat(problems).as(method + " " + path + " fits its schema; body: " + r.body()).isEmpty();
        return value;
    }

    /** Enough of JSON Schema for this description: $ref, allOf, type, nullable, enum, required, properties, items. */
    private void validate(JsonNode v, JsonNode schema, String at, List<String> problems) {
        if (schema.has("$ref")) {
            String name = schema.path("$ref").asText().substring("#/components/schemas/".length());
            validate(v, doc.path("components").path("schemas").path(name), at, problems);
            return;
        }
        if (schema.has("allOf")) {
            for (JsonNode s : schema.path("allOf")) validate(v, s, at, problems);
            return;
        }
        if (v.isNull()) {
            if (!schema.path("nullable").asBoolean()) problems.add(at + ": null, not nullable");
            return;
        }
        String type = schema.path("type").asText("");
        boolean ok = switch (type) {
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            case "string" -> v.isTextual();
            case "integer" -> v.isIntegralNumber();
            case "boolean" -> v.isBoolean();
            default -> true;
        };
        if (!ok) {
            problems.add(at + ": expected " + type + ", got " + v.getNodeType());
            return;
        }
        if (schema.has("enum")) {
            Set<String> allowed = new HashSet<>();
            schema.path("enum").forEach(e -> allowed.add(e.asText()));
            if (!allowed.contains(v.asText())) problems.add(at + ": " + v + " not one of " + allowed);
        }
        for (JsonNode req : schema.path("required")) if (!v.has(req.asText())) problems.add(at + ": missing " + req.asText());
        if (v.isObject()) {
            for (Iterator<String> it = v.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                JsonNode s = schema.path("properties").path(f);
                if (s.isMissingNode()) s = schema.path("additionalProperties");
                if (!s.isMissingNode() && s.isObject()) validate(v.get(f), s, at + "." + f, problems);
            }
        }
        if (v.isArray()) {
            int i = 0;
            for (JsonNode e : v) validate(e, schema.path("items"), at + "[" + i++ + "]", problems);
        }
    }
}
