/// The web UI and JSON API (Hummingbird). It arrives with the web issue; the module exists now so the layering is fixed from the start.
public enum OutreachWeb {}
