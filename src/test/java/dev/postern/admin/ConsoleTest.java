package dev.postern.admin;

import dev.postern.config.Config;
import dev.postern.message.DkimKeys;
import dev.postern.testing.LogOnFailure;
import dev.postern.testing.ScriptedPeer;
import dev.postern.testing.SmtpClient;
import dev.postern.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The web console in a real browser: Debian's chromium, driven by Selenium through chromedriver. Logs in,
 * reads the charts, searches the queue and acts on it singly and by search, traces a message, manages an
 * account and reads the DKIM record; takes the README's screenshots (target/screenshots) on the way.
 */
@ExtendWith(LogOnFailure.class)
class ConsoleTest {
    static final Path SHOTS = Path.of("target/screenshots");
    TestServer server;
    ScriptedPeer slow;
    WebDriver browser;
    WebDriverWait wait;
    String base;

    @BeforeEach void start() throws Exception {
        slow = new ScriptedPeer("127.0.0.2");
        slow.rcptReply = rcpt -> "451 4.3.0 try again later";
        server = TestServer.builder().relayNetworks("127.0.0.1/32").consoleUsers("alice@example.test")
                .transport("slow.test", "[127.0.0.2]:" + slow.port()).transport("other.test", "[127.0.0.2]:" + slow.port())
                .alias("postmaster@example.test", "alice@example.test")
                .alerts(new Config.Alerts(1, Duration.ofDays(1), 1.0, 1)).start();
        base = "http://127.0.0.1:" + server.server.admin().port();
        ChromeOptions o = new ChromeOptions();
        o.setBinary("/usr/bin/chromium");
        // root in a container: no sandbox; small /dev/shm
        o.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--disable-gpu");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File("/usr/bin/chromedriver"))
                .withLogOutput(java.io.OutputStream.nullOutputStream()).build();
        browser = new ChromeDriver(service, o);
        wait = new WebDriverWait(browser, Duration.ofSeconds(15));
    }

    @AfterEach void stop() throws Exception {
        if (browser != null) browser.quit();
        server.close();
        slow.close();
    }

    @Test void administerThroughTheConsole() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("Ed25519");
        Files.createDirectories(server.config.dkimKeyDir());
        Files.writeString(server.config.dkimKeyDir().resolve("example.test.s1.key"), DkimKeys.pem(g.generateKeyPair().getPrivate()));
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            for (int i = 0; i < 3; i++) {
                assertThat(c.sendMail("news@lists.example.org", "reader" + i + "@slow.test", "Precedence: bulk\r\nSubject: news " + i + "\r\n\r\nx")).startsWith("250");
            }
            assertThat(c.sendMail("alice@example.test", "friend@other.test", "Subject: lunch\r\n\r\nat noon?")).startsWith("250");
        }
        long until = System.currentTimeMillis() + 10_000;
        while (System.currentTimeMillis() < until && server.server.queue().list().stream().anyMatch(m -> m.recipients().get(0).attempts() == 0)) {
            Thread.sleep(50);
        }

        // log in: a wrong password is refused, alice (in [admin] users) gets in
        browser.get(base + "/console/");
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("login")));
        type("login-user", "alice@example.test");
        type("login-password", "wrong");
        click("login-submit");
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("login-error"), "wrong user, password or token"));
        type("login-password", TestServer.PASSWORD);
        click("login-submit");
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("who"), "alice@example.test"));

        // overview: eight charts, the minute in progress counting the four messages
        wait.until(d -> d.findElements(By.cssSelector("#charts .chart svg")).size() == 8);
        // the four messages, in the minute in progress or the one before if a minute began meanwhile
        WebElement accepted = browser.findElement(By.cssSelector(".chart[data-series=accepted]"));
        assertThat(Integer.parseInt(accepted.getAttribute("data-total"))).isGreaterThanOrEqualTo(4);
        assertThat(browser.findElement(By.id("queue-summary")).getText()).startsWith("4 message(s) queued");
        // the alerts banner (queue of 1 or more) after the first check, 10 s after start
        new WebDriverWait(browser, Duration.ofSeconds(30)).until(d -> {
            d.navigate().refresh();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("who"), "alice"));
            return !d.findElements(By.cssSelector("#alerts .alert")).isEmpty() && d.findElement(By.id("alerts")).isDisplayed();
        });
        assertThat(browser.findElement(By.id("alerts")).getText()).contains("queue: 4 messages");
        wait.until(d -> d.findElements(By.cssSelector("#charts .chart svg")).size() == 8);
        screenshot("console-overview");

        // queue: all four, then a search for one domain, a message's details, hold it
        browser.findElement(By.id("nav-queue")).click();
        wait.until(d -> d.findElements(By.cssSelector("#messages tr[data-id]")).size() == 4);
        type("search-domain", "slow.test");
        click("search-submit");
        wait.until(d -> d.findElements(By.cssSelector("#messages tr[data-id]")).size() == 3);
        screenshot("console-queue");
        type("search-domain", "");
        type("search-sender", "alice");
        click("search-submit");
        wait.until(d -> d.findElements(By.cssSelector("#messages tr[data-id]")).size() == 1);
        String alices = browser.findElement(By.cssSelector("#messages tr[data-id]")).getAttribute("data-id");
        browser.findElement(By.cssSelector("#messages tr[data-id]")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("headers"), "Subject: lunch"));
        assertThat(browser.findElement(By.id("recipients")).getText()).contains("friend@other.test").contains("451 4.3.0 try again later");
        click("action-hold");
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.cssSelector("#message h2"), "(held)"));
        assertThat(server.server.queue().get(alices).held()).isTrue();
        screenshot("console-message");

        // every message matching a search: delete the three bulk ones
        type("search-sender", "news@lists");
        click("search-submit");
        wait.until(d -> d.findElements(By.cssSelector("#messages tr[data-id]")).size() == 3);
        new org.openqa.selenium.support.ui.Select(browser.findElement(By.id("bulk-action"))).selectByValue("delete");
        click("bulk-submit");
        wait.until(ExpectedConditions.alertIsPresent()).accept();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("queue-status"), "delete: 3 of 3 message(s)"));
        assertThat(server.server.queue().list()).hasSize(1);

        // trace: the held message's story
        browser.get(base + "/console/#trace/" + alices);
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("events")));
        assertThat(browser.findElement(By.id("events")).getText()).contains("from=<alice@example.test>").contains("status=deferred")
                .contains("held by administrator");
        screenshot("console-trace");

        // accounts: add carol (usable at once), change her password, remove her
        browser.findElement(By.id("nav-accounts")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("add-account")));
        type("new-address", "carol@example.test");
        type("new-password", "s3cret-pw");
        click("add-submit");
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("accounts-status"), "carol@example.test added"));
        try (SmtpClient c = SmtpClient.ehlo(server.smtp())) {
            c.command("MAIL FROM:<x@example.org>", "250");
            c.command("RCPT TO:<carol@example.test>", "250");
        }
        WebElement carol = browser.findElement(By.cssSelector("tr[data-account='carol@example.test']"));
        carol.findElement(By.cssSelector("input[type=password]")).sendKeys("another-pw");
        carol.findElement(By.xpath(".//button[text()='Change password']")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("accounts-status"), "password of carol@example.test changed"));
        browser.findElement(By.cssSelector("tr[data-account='carol@example.test']")).findElement(By.xpath(".//button[text()='Remove']")).click();
        wait.until(ExpectedConditions.alertIsPresent()).accept();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("accounts-status"), "carol@example.test removed"));
        assertThat(server.server.queue()).isNotNull();

        // domains, aliases, the DKIM record to publish
        browser.findElement(By.id("nav-domains")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("dkim")));
        assertThat(browser.findElement(By.id("domains")).getText()).contains("example.test");
        assertThat(browser.findElement(By.id("aliases")).getText()).contains("postmaster@example.test").contains("alice@example.test");
        assertThat(browser.findElement(By.id("dkim")).getText()).contains("s1._domainkey.example.test. 3600 IN TXT \"v=DKIM1; k=ed25519; p=");
        assertThat(browser.findElement(By.id("main")).getText()).doesNotContain("null");
        screenshot("console-domains");

        // DMARC summaries: a day's rows as the checks record them
        Files.createDirectories(server.config.dmarcDir());
        Files.writeString(server.config.dmarcDir().resolve(java.time.LocalDate.now(java.time.ZoneOffset.UTC) + ".jsonl"),
                "{\"policy_domain\":\"sender.example\",\"dkim_aligned\":\"pass\",\"spf_aligned\":\"fail\",\"disposition\":\"none\"}\n"
                        + "{\"policy_domain\":\"sender.example\",\"dkim_aligned\":\"fail\",\"spf_aligned\":\"fail\",\"disposition\":\"reject\"}\n");
        browser.findElement(By.id("nav-dmarc")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("dmarc"), "sender.example"));
        assertThat(browser.findElement(By.id("dmarc")).getText()).contains("sender.example 2 1 1 0 1");
        assertThat(browser.findElement(By.id("main")).getText()).doesNotContain("null");
        screenshot("console-dmarc");

        // CSRF: the session cookie alone does not change anything; with the session's token it does
        String cookie = Console.COOKIE + "=" + browser.manage().getCookieNamed(Console.COOKIE).getValue();
        assertThat(browser.manage().getCookieNamed(Console.COOKIE).isHttpOnly()).isTrue();
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> forged = http.send(HttpRequest.newBuilder(URI.create(base + "/queue/" + alices + "/delete"))
                .header("Cookie", cookie).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(forged.statusCode()).isEqualTo(401);
        assertThat(server.server.queue().get(alices)).isNotNull();
        HttpResponse<String> read = http.send(HttpRequest.newBuilder(URI.create(base + "/queue")).header("Cookie", cookie).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(read.statusCode()).isEqualTo(200);

        // a page from the jar only: nothing is loaded from elsewhere
        HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create(base + "/console/")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(page.headers().firstValue("Content-Security-Policy").orElse("")).contains("default-src 'self'").contains("frame-ancestors 'none'");
        assertThat(page.body()).doesNotContain("http://").doesNotContain("https://");

        // logging out ends the session
        click("logout");
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("login")));
        HttpResponse<String> after = http.send(HttpRequest.newBuilder(URI.create(base + "/queue")).header("Cookie", cookie).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(after.statusCode()).isEqualTo(401);
    }

    @Test void anAccountNotListedAsAdministratorCannotLogIn() {
        browser.get(base + "/console/");
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("login")));
        type("login-user", "bob@example.test");
        type("login-password", TestServer.PASSWORD);
        click("login-submit");
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("login-error"), "wrong user, password or token"));
        assertThat(browser.findElement(By.id("nav")).isDisplayed()).isFalse();
    }

    private void type(String id, String text) {
        WebElement e = browser.findElement(By.id(id));
        e.clear();
        if (!text.isEmpty()) e.sendKeys(text);
    }

    private void click(String id) { browser.findElement(By.id(id)).click(); }

    private void screenshot(String name) throws Exception {
        Files.createDirectories(SHOTS);
        File f = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
        Files.copy(f.toPath(), SHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
    }
}
