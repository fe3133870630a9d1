// Stimulus application: controllers are registered here as pages need them.
import "@hotwired/turbo"
import { Application } from "@hotwired/stimulus"
import CableController from "controllers/cable_controller.js"
import HeatController from "controllers/heat_controller.js"
import LiveScoresController from "controllers/live_scores_controller.js"

const application = Application.start()
window.Stimulus = application
application.register("cable", CableController)
application.register("heat", HeatController)
application.register("live-scores", LiveScoresController)
export { application }
