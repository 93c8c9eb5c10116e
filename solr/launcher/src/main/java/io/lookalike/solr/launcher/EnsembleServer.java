package io.lookalike.solr.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.zookeeper.server.quorum.QuorumPeerConfig;
import org.apache.zookeeper.server.quorum.QuorumPeerMain;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One server of a ZooKeeper ensemble, run in this JVM before Solr starts.
 *
 * <p>Solr 9's own embedded ensemble ({@code zkRun} with a {@code zkHost} list) cannot start: it
 * reads solr.xml from ZooKeeper before it starts the embedded server, and waits for it in vain.
 * So the launcher runs the quorum peer itself, from the ZooKeeper jars Solr ships with, and
 * Solr joins the ensemble as a client like any other node. Server {@code id} of the list
 * {@code host:P0,host:P1,host:P2} listens for clients on its {@code Pi}, for its peers on
 * {@code Pi + 1} (quorum) and {@code Pi + 2} (leader election); data in {@code home/zoo_data}.
 */
final class EnsembleServer {
  private static final Logger log = LoggerFactory.getLogger(EnsembleServer.class);

  private EnsembleServer() {}

  /** The ensemble's configuration for server {@code id}; writes its {@code myid}. */
  static QuorumPeerConfig config(List<String> servers, int id, Path dataDir) throws IOException {
    Files.createDirectories(dataDir);
    Files.writeString(dataDir.resolve("myid"), id + "\n");
    Properties props = new Properties();
    props.setProperty("tickTime", "2000");
    props.setProperty("initLimit", "10");
    props.setProperty("syncLimit", "5");
    props.setProperty("dataDir", dataDir.toString());
    props.setProperty("4lw.commands.whitelist", "mntr,conf,ruok");
    props.setProperty("admin.enableServer", "false");
    props.setProperty("autopurge.snapRetainCount", "3");
    props.setProperty("autopurge.purgeInterval", "1");
    for (int i = 0; i < servers.size(); i++) {
      String hostPort = servers.get(i).trim();
      int colon = hostPort.lastIndexOf(':');
      String host = hostPort.substring(0, colon);
      int client = Integer.parseInt(hostPort.substring(colon + 1));
      props.setProperty("server." + i, host + ":" + (client + 1) + ":" + (client + 2) + ";" + host + ":" + client);
    }
    QuorumPeerConfig config = new QuorumPeerConfig();
    try {
      config.parseProperties(props);
    } catch (QuorumPeerConfig.ConfigException e) {
      throw new IOException("bad ZooKeeper ensemble configuration: " + e.getMessage(), e);
    }
    return config;
  }

  /** Starts the quorum peer on a daemon thread; fails at once if it could not start. */
  static void start(List<String> servers, int id, Path dataDir) throws IOException {
    QuorumPeerConfig config = config(servers, id, dataDir);
    AtomicReference<Exception> failed = new AtomicReference<>();
    Thread thread =
        new Thread(
            () -> {
              try {
                new QuorumPeerMain().runFromConfig(config);
              } catch (Exception e) {
                log.error("ZooKeeper ensemble server {} stopped", id, e);
                failed.set(e);
              }
            },
            "zookeeper-ensemble-" + id);
    thread.setDaemon(true);
    thread.start();
    log.info("ZooKeeper ensemble server {} of {} started", id, servers);
    try {
      thread.join(1000); // a bad port or data dir fails within this; a quorum takes longer
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (failed.get() != null) {
      throw new IOException("ZooKeeper ensemble server " + id + " could not start", failed.get());
    }
  }
}
