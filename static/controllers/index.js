// Stimulus application: controllers are registered here as pages need them.
import "@hotwired/turbo"
import { Application } from "@hotwired/stimulus"
import HeatController from "controllers/heat_controller.js"

const application = Application.start()
window.Stimulus = application
application.register("heat", HeatController)
export { application }
