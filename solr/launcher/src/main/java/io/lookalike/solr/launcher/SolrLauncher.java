package io.lookalike.solr.launcher;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import javax.servlet.DispatcherType;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import org.apache.solr.cloud.SolrZkServer;
import org.apache.solr.common.cloud.SolrZkClient;
import org.apache.solr.servlet.CoreContainerProvider;
import org.apache.solr.servlet.SolrDispatchFilter;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.rewrite.handler.RewriteHandler;
import org.eclipse.jetty.rewrite.handler.RewritePatternRule;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.servlet.FilterHolder;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts one real Solr node over HTTP: Jetty with Solr's {@link CoreContainerProvider} and
 * {@link SolrDispatchFilter} mounted under {@code /solr}, wired like Solr's own web.xml (and like
 * {@code JettySolrRunner}, without the test framework). Always SolrCloud: {@code --zk-run} runs
 * the embedded ZooKeeper on port + 1000 (like {@code bin/solr -c}), {@code --zk-host} joins one,
 * and {@code --zk-ensemble H:P1,H:P2,H:P3 --zk-id N} runs server N of a ZooKeeper ensemble in this
 * JVM ({@link EnsembleServer}: client port P, P + 1 for the quorum, P + 2 for leader election)
 * and Solr joins the whole ensemble.
 *
 * <pre>
 * java -cp 'runtime/lib/*' io.lookalike.solr.launcher.SolrLauncher \
 *      --port 8983 --home DIR (--zk-run | --zk-host HOST:PORT | --zk-ensemble LIST --zk-id N)
 *      [--host 127.0.0.1] [--security-json FILE]
 * </pre>
 *
 * <p>{@code --zk-run} starts the embedded ZooKeeper in the launcher itself (Solr's own {@link
 * SolrZkServer}, as {@code zkRun} would), so that, given {@code --security-json}, the file is
 * written to ZooKeeper's {@code /security.json} before Solr connects, whatever the ZooKeeper (an
 * ensemble: once it has a quorum; an external one): the node never serves a request to a
 * stranger. An existing non-empty {@code /security.json} is left as it is (it may have been
 * edited through Solr's security API).
 *
 * Exit codes: 0 after a clean stop (SIGTERM), 1 when Solr fails to start, 2 for bad arguments,
 * 3 when the port is in use. The solr home gets our {@code solr.xml} and {@code zoo.cfg} if it
 * has none (there is no solr.install.dir to take defaults from).
 */
public final class SolrLauncher {
  static final int EXIT_FAILED = 1;
  static final int EXIT_USAGE = 2;
  static final int EXIT_PORT_IN_USE = 3;
  static final String CONTEXT = "/solr";
  /** Paths the admin UI would serve; we ship no UI, so they are 404s rather than Solr errors. */
  static final String EXCLUDE_PATTERNS = "/partials/.+,/libs/.+,/css/.+,/js/.+,/img/.+,/templates/.+";

  private SolrLauncher() {}

  public static void main(String[] argv) {
    // Lucene logs through java.util.logging (e.g. "Java vector incubation API enabled"):
    // route it to log4j2 so it lands in the node's log, before anything touches JUL.
    if (System.getProperty("java.util.logging.manager") == null) {
      System.setProperty("java.util.logging.manager", "org.apache.logging.log4j.jul.LogManager");
    }
    LauncherArgs args;
    try {
      args = LauncherArgs.parse(argv);
    } catch (IllegalArgumentException e) {
      System.err.println("solr launcher: " + e.getMessage());
      System.err.println(LauncherArgs.USAGE);
      System.exit(EXIT_USAGE);
      return;
    }
    Logger log = LoggerFactory.getLogger(SolrLauncher.class);
    Server server;
    SolrZkServer zk = null;
    FilterHolder dispatch = new FilterHolder(SolrDispatchFilter.class);
    try {
      prepareHome(args.home);
      startEnsembleServer(args);
      configureSystemProperties(args);
      if (args.zkRun) {
        zk = startZooKeeper(args);
      }
      if (args.securityJson != null) {
        installSecurity(System.getProperty("zkHost"), args.securityJson, log);
      }
      server = buildServer(args, dispatch);
    } catch (Exception e) {
      log.error("Could not prepare the Solr node", e);
      System.err.println("solr launcher: could not prepare the node: " + e);
      stopQuietly(zk);
      System.exit(EXIT_FAILED);
      return;
    }
    final SolrZkServer embeddedZk = zk;
    final Server jetty = server;
    // One shutdown hook, in order: Solr first (it closes its cores and leaves ZooKeeper), then
    // the ZooKeeper it was talking to.
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  stopQuietly(jetty);
                  stopQuietly(embeddedZk);
                },
                "lookalike-shutdown"));
    try {
      server.start();
      // Jetty starts even when Solr's CoreContainer did not load (bad solr.xml, ZooKeeper
      // unreachable): ask the filter, and fail the process so the caller sees it at once.
      ((SolrDispatchFilter) dispatch.getFilter()).getCores();
    } catch (Exception e) {
      boolean bind = causedBy(e, BindException.class);
      log.error("Solr node on port {} failed to start", args.port, e);
      System.err.println(
          bind
              ? "solr launcher: port " + args.port + " is already in use"
              : "solr launcher: Solr failed to start: " + e);
      System.exit(bind ? EXIT_PORT_IN_USE : EXIT_FAILED); // the shutdown hook stops Jetty and ZooKeeper
      return;
    }
    log.info("Lookalike Solr node listening on http://{}:{}{}", args.host, args.port, CONTEXT);
    System.out.println("solr launcher: started on port " + args.port);
    try {
      server.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** With --zk-ensemble: this node's ZooKeeper server, before Solr needs it. */
  static void startEnsembleServer(LauncherArgs args) throws IOException {
    if (args.zkEnsemble == null) {
      return;
    }
    EnsembleServer.start(List.of(args.zkEnsemble.split(",")), args.zkId, args.home.resolve("zoo_data"));
  }

  /** Copies our solr.xml and zoo.cfg into the solr home unless it already has its own. */
  static void prepareHome(Path home) throws IOException {
    Files.createDirectories(home);
    for (String name : new String[] {"solr.xml", "zoo.cfg"}) {
      Path target = home.resolve(name);
      if (Files.exists(target)) {
        continue;
      }
      try (InputStream in = SolrLauncher.class.getResourceAsStream(name)) {
        if (in == null) {
          throw new IOException("resource " + name + " is missing from the launcher jar");
        }
        Files.copy(in, target);
      }
    }
  }

  static void configureSystemProperties(LauncherArgs args) {
    System.setProperty("solr.solr.home", args.home.toString());
    System.setProperty("jetty.port", Integer.toString(args.port));
    System.setProperty("host", args.host);
    System.setProperty("solr.zk.embedded.host", args.host);
    if (args.zkEnsemble != null) {
      // Solr is a client of the whole ensemble; the quorum may take a while to form as the
      // other servers' JVMs come up
      System.setProperty("zkHost", args.zkEnsemble);
      if (System.getProperty("waitForZk") == null) {
        System.setProperty("waitForZk", "120");
      }
    } else if (args.zkHost != null) {
      System.setProperty("zkHost", args.zkHost);
    }
    // --zk-run: startZooKeeper runs it (as Solr's zkRun would) and sets zkHost
  }

  /**
   * Runs ZooKeeper inside this JVM on port + 1000 with its data in {@code zoo_data/}, exactly as
   * Solr's {@code -DzkRun} does (same class, same defaults), and points Solr at it with {@code
   * zkHost}. Started here rather than by Solr so that {@code /security.json} can be written
   * before Solr reads it.
   */
  static SolrZkServer startZooKeeper(LauncherArgs args) {
    System.setProperty("zookeeper.jmx.log4j.disable", "true");
    String dataHome =
        System.getProperty("zkServerDataDir", args.home.resolve("zoo_data").toString());
    String confHome = System.getProperty("zkServerConfDir", args.home.toString());
    SolrZkServer zk = new SolrZkServer("", null, new File(dataHome), confHome, args.port);
    zk.parseConfig();
    zk.start();
    System.setProperty("zkHost", zk.getClientString());
    return zk;
  }

  /**
   * Writes {@code file} to ZooKeeper's {@code /security.json} unless it already holds rules, so
   * that Solr never serves a request unauthenticated. With an ensemble this waits for its quorum.
   */
  static void installSecurity(String zkHost, Path file, Logger log) throws Exception {
    byte[] wanted = Files.readAllBytes(file);
    try (SolrZkClient zk =
        new SolrZkClient.Builder()
            .withUrl(zkHost)
            .withTimeout(30, TimeUnit.SECONDS)
            .withConnTimeOut(120, TimeUnit.SECONDS)
            .build()) {
      String path = "/security.json";
      if (!zk.exists(path, true)) {
        try {
          zk.create(path, wanted, CreateMode.PERSISTENT, true);
          log.info("installed {} as ZooKeeper's {}", file, path);
          return;
        } catch (KeeperException.NodeExistsException e) {
          // another server of the ensemble wrote it first: look at what it wrote
        }
      }
      byte[] current = zk.getData(path, null, null, true);
      String text = current == null ? "" : new String(current, StandardCharsets.UTF_8).trim();
      if (text.isEmpty() || text.equals("{}")) {
        zk.setData(path, wanted, true);
        log.info("installed {} as ZooKeeper's {} (it was empty)", file, path);
      } else {
        log.info("ZooKeeper's {} already holds security rules: left as they are", path);
      }
    }
  }

  static Server buildServer(LauncherArgs args, FilterHolder dispatch) {
    QueuedThreadPool threads = new QueuedThreadPool(10000, 10);
    threads.setName("solr-jetty");
    Server server = new Server(threads);
    // SIGTERM -> orderly stop through main's shutdown hook: cores closed, then ZooKeeper.
    server.setStopAtShutdown(false);
    server.setStopTimeout(15_000);

    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    // Solr nodes talk to each other over HTTP/2 in clear text, so accept both protocols.
    ServerConnector connector =
        new ServerConnector(
            server, new HttpConnectionFactory(http), new HTTP2CServerConnectionFactory(http));
    connector.setHost(args.host);
    connector.setPort(args.port);
    connector.setIdleTimeout(120_000);
    connector.setReuseAddress(true);
    server.addConnector(connector);

    ServletContextHandler context =
        new ServletContextHandler(ServletContextHandler.SESSIONS);
    context.setContextPath(CONTEXT);
    context.addEventListener(new CoreContainerProvider());
    dispatch.setName("SolrRequestFilter");
    dispatch.setInitParameter("excludePatterns", EXCLUDE_PATTERNS);
    context.addFilter(dispatch, "/*", EnumSet.of(DispatcherType.REQUEST));
    context.addServlet(new ServletHolder("default", NotFoundServlet.class), "/");

    // The v2 API lives under /api, served by the same filter (as in Solr's jetty.xml).
    RewriteHandler rewrite = new RewriteHandler();
    rewrite.setRewriteRequestURI(true);
    rewrite.setRewritePathInfo(false);
    rewrite.setOriginalPathAttribute("requestedPath");
    rewrite.addRule(new RewritePatternRule("/api/*", CONTEXT + "/____v2"));
    rewrite.setHandler(context);
    server.setHandler(rewrite);
    return server;
  }

  private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  private static void stopQuietly(SolrZkServer zk) {
    if (zk == null) {
      return;
    }
    try {
      zk.stop();
    } catch (RuntimeException ignored) {
      // stopping anyway
    }
  }

  private static void stopQuietly(Server server) {
    try {
      server.stop();
    } catch (Exception ignored) {
      // already failing; the original error has been reported
    }
  }

  /** Whatever the dispatch filter lets through (excluded UI paths, unknown paths) is a 404. */
  public static final class NotFoundServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      resp.sendError(HttpServletResponse.SC_NOT_FOUND, "no such path: " + req.getRequestURI());
    }
  }

  /** The launcher's command line. */
  static final class LauncherArgs {
    static final String USAGE =
        "usage: SolrLauncher --port PORT --home DIR"
            + " (--zk-run | --zk-host HOST:PORT | --zk-ensemble H:P,H:P,H:P --zk-id N) [--host ADDR]"
            + " [--security-json FILE]";
    int port = -1;
    Path home;
    String zkHost;
    boolean zkRun;
    String zkEnsemble;
    int zkId = -1;
    String host = "127.0.0.1";
    Path securityJson;

    static LauncherArgs parse(String[] argv) {
      LauncherArgs a = new LauncherArgs();
      for (int i = 0; i < argv.length; i++) {
        String flag = argv[i];
        switch (flag) {
          case "--zk-run":
            a.zkRun = true;
            continue;
          case "--port":
          case "--home":
          case "--zk-host":
          case "--zk-ensemble":
          case "--zk-id":
          case "--host":
          case "--security-json":
            break;
          default:
            throw new IllegalArgumentException("unknown argument " + flag);
        }
        if (i + 1 >= argv.length) {
          throw new IllegalArgumentException(flag + " needs a value");
        }
        String value = argv[++i];
        switch (flag) {
          case "--port":
            try {
              a.port = Integer.parseInt(value);
            } catch (NumberFormatException e) {
              throw new IllegalArgumentException("--port must be a number, got " + value);
            }
            break;
          case "--home":
            a.home = Paths.get(value).toAbsolutePath().normalize();
            break;
          case "--zk-host":
            a.zkHost = value;
            break;
          case "--zk-ensemble":
            a.zkEnsemble = value;
            break;
          case "--security-json":
            a.securityJson = Paths.get(value).toAbsolutePath().normalize();
            break;
          case "--zk-id":
            try {
              a.zkId = Integer.parseInt(value);
            } catch (NumberFormatException e) {
              throw new IllegalArgumentException("--zk-id must be a number, got " + value);
            }
            break;
          default:
            a.host = value;
        }
      }
      if (a.port < 1 || a.port > 64535) {
        throw new IllegalArgumentException("--port must be 1..64535 (ZooKeeper uses port + 1000)");
      }
      if (a.home == null) {
        throw new IllegalArgumentException("--home is required");
      }
      int modes = (a.zkRun ? 1 : 0) + (a.zkHost != null ? 1 : 0) + (a.zkEnsemble != null ? 1 : 0);
      if (modes != 1) {
        throw new IllegalArgumentException("give exactly one of --zk-run, --zk-host and --zk-ensemble");
      }
      if (a.zkEnsemble != null) {
        int servers = a.zkEnsemble.split(",").length;
        if (servers < 3 || servers % 2 == 0) {
          throw new IllegalArgumentException("--zk-ensemble needs an odd number (3 or more) of HOST:PORT");
        }
        if (a.zkId < 0 || a.zkId >= servers) {
          throw new IllegalArgumentException("--zk-id must be 0.." + (servers - 1) + " with --zk-ensemble");
        }
      }
      return a;
    }

    @Override
    public String toString() {
      return String.format(
          Locale.ROOT,
          "port=%d home=%s zk=%s host=%s",
          port,
          home,
          zkEnsemble != null ? "ensemble server " + zkId + " of " + zkEnsemble : zkRun ? "embedded" : zkHost,
          host);
    }
  }
}
