package dev.postern.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** {@code postern trace ID}: everything the running server logged about one message, and its state if still queued. */
@Command(name = "trace", description = "What happened to one message: receipt, checks, every delivery attempt")
final class TraceCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "queue id") String id;
    @Option(names = "--json", description = "print the server's JSON answer") boolean json;
    @Option(names = "--config", description = "TOML configuration file") java.nio.file.Path config;

    @Override public Integer call() throws Exception {
        return Cli.withConfig(config, c -> {
            JsonNode body = AdminClient.call(c, "GET", "/trace/" + java.net.URLEncoder.encode(id, java.nio.charset.StandardCharsets.UTF_8));
            if (body == null) return 1;
            if (json) {
                System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(body));
                return 0;
            }
            for (JsonNode e : body.path("events")) {
                System.out.printf("%-24s %-5s %-8s %s%n", e.path("at").asText(), e.path("level").asText(), e.path("source").asText(), e.path("text").asText());
            }
            JsonNode m = body.path("message");
            if (m.isMissingNode()) {
                System.out.println("-- " + id + " is no longer in the queue");
            } else {
                System.out.println("-- " + id + " is queued" + (m.path("held").asBoolean() ? ", on hold" : "") + ":");
                for (JsonNode r : m.path("recipients")) {
                    System.out.printf("   %-9s %s attempts=%d%s%n", r.path("status").asText(), r.path("address").asText(), r.path("attempts").asInt(),
                            r.path("last_reply").isNull() ? "" : " (" + r.path("last_reply").asText() + ")");
                }
            }
            return 0;
        });
    }
}
