package dev.postern.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.config.Config;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.time.Duration;

/** The CLI's side of the running server's loopback admin endpoint (port and token from the data directory). */
final class AdminClient {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Tells a running server something changed (POST path) and waits for it to take it in. No running
     * server (no port file, nothing listening) is not an error: a server reads everything when it starts.
     * Returns false after printing a warning when a running server refused.
     */
    static boolean tellIfRunning(Config c, String path) throws IOException, InterruptedException {
        String port, token;
        try {
            port = Files.readString(c.adminPortFile()).strip();
            token = Files.readString(c.adminTokenFile()).strip();
        } catch (NoSuchFileException e) {
            return true;
        }
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.noBody()).build();
        HttpResponse<String> r;
        try {
            r = HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString());
        } catch (java.net.ConnectException e) {
            return true; // a port file left by a server that is not running
        }
        if (r.statusCode() == 200) return true;
        System.err.println("postern: warning: the running server did not take the change in: " + r.body());
        return false;
    }

    /** The answer, or null after printing why the server could not be asked or refused. */
    static JsonNode call(Config c, String method, String path) throws IOException, InterruptedException {
        String port, token;
        try {
            port = Files.readString(c.adminPortFile()).strip();
            token = Files.readString(c.adminTokenFile()).strip();
        } catch (NoSuchFileException e) {
            System.err.println("postern: no running server found (missing " + e.getFile() + ")");
            return null;
        }
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(30));
        req = method.equals("GET") ? req.GET() : req.POST(HttpRequest.BodyPublishers.noBody());
        HttpResponse<String> r;
        try {
            r = HttpClient.newHttpClient().send(req.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            System.err.println("postern: cannot reach the server's admin endpoint on 127.0.0.1:" + port + ": " + e.getMessage());
            return null;
        }
        JsonNode body = JSON.readTree(r.body());
        if (r.statusCode() != 200 && r.statusCode() != 201) {
            System.err.println("postern: " + body.path("error").asText(r.body()));
            for (JsonNode p : body.path("problems")) System.err.println("  " + p.asText());
            return null;
        }
        return body;
    }
}
