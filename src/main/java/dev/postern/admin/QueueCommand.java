package dev.postern.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.config.Config;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** {@code postern queue list|show|flush|retry|hold|release|delete|bounce} against the running server. */
@Command(name = "queue", description = "Inspect and manage the queue of the running server (like postqueue/postsuper)")
final class QueueCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Parameters(index = "0", description = "list, show, flush, retry, hold, release, delete or bounce") String action;
    @Parameters(index = "1", arity = "0..1", description = "queue id (all but list and flush)") String id;
    @Option(names = "--json", description = "print the server's JSON answer") boolean json;
    @Option(names = "--sender", description = "search: part of the sender") String sender;
    @Option(names = "--recipient", description = "search: part of a recipient") String recipient;
    @Option(names = "--domain", description = "search: a recipient domain with mail to deliver") String domain;
    @Option(names = "--status", description = "search: held, deferred or pending") String status;
    @Option(names = "--min-age", description = "search: arrived at least this long ago (30m, 4h, 2d)") String minAge;
    @Option(names = "--max-age", description = "search: arrived at most this long ago") String maxAge;
    @Option(names = "--all", description = "an action without an id or a search: every message") boolean all;
    @Option(names = "--config", description = "TOML configuration file") java.nio.file.Path config;

    @Override public Integer call() throws Exception {
        return Cli.withConfig(config, this::run);
    }

    private int run(Config c) throws Exception {
        boolean needsId = !action.equals("list") && !action.equals("flush");
        if (!java.util.Set.of("list", "show", "flush", "retry", "hold", "release", "delete", "bounce").contains(action)) {
            System.err.println("postern: unknown queue action " + action);
            return 2;
        }
        String search = search();
        boolean bulk = needsId && !action.equals("show") && id == null && (!search.isEmpty() || all);
        if (!bulk && needsId == (id == null)) {
            System.err.println("postern: queue " + action + (needsId ? " needs a queue id" + (action.equals("show") ? "" : ", a search or --all")
                    : " takes no queue id"));
            return 2;
        }
        if (!search.isEmpty() && !bulk && !action.equals("list")) {
            System.err.println("postern: a search goes with list or with an action instead of an id");
            return 2;
        }
        String path = switch (action) {
            case "list" -> "/queue" + (search.isEmpty() ? "" : "?" + search);
            case "show" -> "/queue/" + id;
            case "flush" -> "/queue/flush";
            default -> bulk ? "/queue/actions/" + action + "?" + (search.isEmpty() ? "all=true" : search) : "/queue/" + id + "/" + action;
        };
        JsonNode body = AdminClient.call(c, action.equals("list") || action.equals("show") ? "GET" : "POST", path);
        if (body == null) return 1;
        if (json) {
            System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(body)); // as the server sent it
        } else if (action.equals("list")) {
            printList(body.path("messages"));
        } else if (action.equals("show")) {
            printList(JSON.createArrayNode().add(body));
        } else if (bulk) {
            body.path("ids").forEach(i -> System.out.println(action + " " + i.asText()));
            System.out.println("-- " + body.path("ids").size() + " of " + body.path("matched").asInt() + " matching message(s)");
        } else {
            System.out.println(body.path("result").asText() + (id == null ? "" : " " + id));
        }
        return 0;
    }

    /** The search options as the API's query string; empty when none was given. */
    private String search() {
        java.util.Map<String, String> terms = new java.util.LinkedHashMap<>();
        terms.put("sender", sender);
        terms.put("recipient", recipient);
        terms.put("domain", domain);
        terms.put("status", status);
        terms.put("min_age", minAge);
        terms.put("max_age", maxAge);
        StringBuilder q = new StringBuilder();
        terms.forEach((k, v) -> {
            if (v == null) return;
            if (q.length() > 0) q.append('&');
            q.append(k).append('=').append(java.net.URLEncoder.encode(v, java.nio.charset.StandardCharsets.UTF_8));
        });
        return q.toString();
    }

    /** postqueue -p style: one block per message, one line per recipient. */
    private static void printList(JsonNode messages) {
        if (messages.isEmpty()) {
            System.out.println("Mail queue is empty");
            return;
        }
        System.out.printf("%-16s %9s  %-24s %s%n", "-Queue ID-", "--Size--", "----Arrival Time----", "-Sender/Recipient-------");
        for (JsonNode m : messages) {
            System.out.printf("%-16s %9d  %-24s %s%n", m.path("id").asText() + (m.path("held").asBoolean() ? "!" : ""),
                    m.path("size").asLong(), m.path("arrival").asText(), m.path("sender").asText().isEmpty() ? "MAILER-DAEMON" : m.path("sender").asText());
            for (JsonNode r : m.path("recipients")) {
                String extra = r.path("status").asText().equals("deferred") || r.path("status").asText().equals("pending")
                        ? " attempts=" + r.path("attempts").asInt() + (r.path("next_attempt").isNull() ? "" : " next=" + r.path("next_attempt").asText())
                        : "";
                System.out.printf("%44s %-9s %s%s%n", "", r.path("status").asText(), r.path("address").asText(), extra);
                if (!r.path("last_reply").isNull()) System.out.printf("%54s(%s)%n", "", r.path("last_reply").asText());
            }
            System.out.println();
        }
        System.out.println("-- " + messages.size() + " message(s)");
    }
}
