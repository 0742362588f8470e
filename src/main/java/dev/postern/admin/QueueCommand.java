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
        if (needsId == (id == null)) {
            System.err.println("postern: queue " + action + (needsId ? " needs a queue id" : " takes no queue id"));
            return 2;
        }
        String path = switch (action) {
            case "list" -> "/queue";
            case "show" -> "/queue/" + id;
            case "flush" -> "/queue/flush";
            default -> "/queue/" + id + "/" + action;
        };
        JsonNode body = AdminClient.call(c, action.equals("list") || action.equals("show") ? "GET" : "POST", path);
        if (body == null) return 1;
        if (json) {
            System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(body)); // as the server sent it
        } else if (action.equals("list")) {
            printList(body.path("messages"));
        } else if (action.equals("show")) {
            printList(JSON.createArrayNode().add(body));
        } else {
            System.out.println(body.path("result").asText() + (id == null ? "" : " " + id));
        }
        return 0;
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
